"""Evaluating scorers: ranking metrics and the next, continuation and last protocols."""

from segue.evaluation.protocols import PROTOCOL_HOLDOUT, PROTOCOLS, EvaluationOptions, evaluate

__all__ = ["PROTOCOLS", "PROTOCOL_HOLDOUT", "EvaluationOptions", "evaluate"]
