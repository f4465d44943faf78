"""mmseg models: the U-Net decoder for pyramid encoders, triplet post-processing and its TTA."""
from .binary_dice_loss import BinaryDiceLoss
from .seg_tta import TripletSegTTAModel
from .soft_vote_loss import SoftVoteCrossEntropyLoss
from .triplet_encoder_decoder import TripletEncoderDecoder
from .unet_head import UNetHead

__all__ = ['BinaryDiceLoss', 'SoftVoteCrossEntropyLoss', 'TripletEncoderDecoder',
           'TripletSegTTAModel', 'UNetHead']
