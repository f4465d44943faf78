"""mmseg models: the U-Net decoder for pyramid encoders and triplet post-processing."""
from .binary_dice_loss import BinaryDiceLoss
from .soft_vote_loss import SoftVoteCrossEntropyLoss
from .triplet_encoder_decoder import TripletEncoderDecoder
from .unet_head import UNetHead

__all__ = ['BinaryDiceLoss', 'SoftVoteCrossEntropyLoss', 'TripletEncoderDecoder', 'UNetHead']
