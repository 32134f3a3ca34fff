from allennlp_ain.modules.decoders.sequence_decoder import Inference, SequenceDecoder
from allennlp_ain.modules.decoders.factorized import FactorizedDecoder
from allennlp_ain.modules.decoders.maxent import MaxEnt
from allennlp_ain.modules.decoders.crf import LinearChainCrf
from allennlp_ain.modules.decoders.mfvi import MeanField
