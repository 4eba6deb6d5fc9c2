"""Layer 1: the lesson's mathematics as PyTorch modules."""

from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.crf import CRF
from rnnkit.nn.dropout import Dropout, dropout
from rnnkit.nn.pooling import POOLINGS, Pooling, valid_mask
from rnnkit.nn.recurrent import BACKENDS, CELLS, Recurrent

__all__ = [
    "BACKENDS",
    "CELLS",
    "CRF",
    "POOLINGS",
    "Dropout",
    "GRUCell",
    "LSTMCell",
    "Pooling",
    "RNNCell",
    "Recurrent",
    "dropout",
    "valid_mask",
]
