"""condgan: conditional GANs that make the class you ask for."""

from condgan.config import Config, load_config
from condgan.errors import CondganError
from condgan.models import build_models
from condgan.models.storage import load_generator
from condgan.sampling import sample
from condgan.train import Trainer

__all__ = ["CondganError", "Config", "Trainer", "build_models", "load_config", "load_generator", "sample"]
__version__ = "0.1.0"
