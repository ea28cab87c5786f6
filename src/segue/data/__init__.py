"""Reading playlist sources and the dataset folder they are prepared into."""

from segue.data.dataset import OOV, PAD, Dataset
from segue.data.prepare import PrepareOptions, prepare
from segue.data.stats import dataset_statistics
from segue.data.tables import TableColumns

__all__ = ["OOV", "PAD", "Dataset", "PrepareOptions", "TableColumns", "dataset_statistics", "prepare"]
