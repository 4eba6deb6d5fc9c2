"""rnnkit: recurrent neural networks for text, exact on variable lengths, fast on a CPU."""

__version__ = "0.1.0"
