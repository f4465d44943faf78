"""mmseg models: the U-Net decoder for pyramid encoders, losses, triplet post-processing and its
TTA, and the data preprocessor for uint8 labels."""
from .binary_dice_loss import BinaryDiceLoss
from .data_preprocessor import Uint8LabelSegDataPreProcessor
from .seg_tta import TripletSegTTAModel
from .soft_vote_loss import SoftVoteCrossEntropyLoss
from .triplet_encoder_decoder import TripletEncoderDecoder
from .unet_head import UNetHead

__all__ = ['BinaryDiceLoss', 'SoftVoteCrossEntropyLoss', 'TripletEncoderDecoder',
           'TripletSegTTAModel', 'UNetHead', 'Uint8LabelSegDataPreProcessor']
