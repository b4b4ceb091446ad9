"""Ready-made example models (the ones the Keras guides build), for tutorials, tests and benchmarks."""
from .models import conv_autoencoder, conv_decoder, conv_encoder, mlp, small_resnet, text_tagger

__all__ = ["conv_autoencoder", "conv_decoder", "conv_encoder", "mlp", "small_resnet", "text_tagger"]
