"""Model settings: which core, its sizes, and the input and output layers."""

from __future__ import annotations

from dataclasses import dataclass, field

NEURAL_MODEL_NAMES = ("lstm", "gru", "sasrec", "ntm", "mann", "hybrid")
# Count-based baselines: fitted by `segue train` in one pass, with no neural network.
BASELINE_NAMES = ("pop", "itemknn", "markov", "sknn")
MODEL_NAMES = NEURAL_MODEL_NAMES + BASELINE_NAMES
# The cores with an external memory; only these use the memory and head settings.
MEMORY_MODEL_NAMES = ("ntm", "mann", "hybrid")
OUTPUT_NAMES = ("softmax", "bloom")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model, except the dataset's number of track indices.

    Each field's ``help`` is shown by ``segue train --help``.
    """

    model: str = field(default="mann", metadata={"help": f"sequence core: {', '.join(MODEL_NAMES)}"})
    embedding_dim: int = field(default=128, metadata={"help": "width of the track embeddings"})
    hidden_size: int = field(
        default=128,
        metadata={"help": "units of the LSTM or GRU, of the memory models' controller, or of SASRec's feed-forward layer"},
    )
    layers: int = field(default=1, metadata={"help": "LSTM, GRU or SASRec layers (lstm, gru, sasrec; controllers have one layer)"})
    attention_heads: int = field(default=2, metadata={"help": "attention heads per layer; must divide embedding_dim (sasrec only)"})
    max_positions: int = field(
        default=200,
        metadata={"help": "positions of the learned position embeddings; at least the training max_len (sasrec only)"},
    )
    memory_slots: int = field(default=128, metadata={"help": "memory slots N (ntm, mann, hybrid)"})
    memory_width: int = field(default=40, metadata={"help": "width M of a memory slot (ntm, mann, hybrid)"})
    read_heads: int = field(default=4, metadata={"help": "read heads R; mann and hybrid write with the same heads"})
    write_heads: int = field(default=1, metadata={"help": "write heads W (ntm only)"})
    shift_range: int = field(default=1, metadata={"help": "largest shift s of NTM addressing; shifts are -s..s (ntm, hybrid)"})
    usage_decay: float = field(default=0.95, metadata={"help": "decay gamma of slot usage under LRUA (mann, hybrid)"})
    dropout: float = field(default=0.1, metadata={"help": "dropout on the embeddings and on the features before the output"})
    output: str = field(default="softmax", metadata={"help": f"output layer: {', '.join(OUTPUT_NAMES)}"})
    tie_embeddings: bool = field(default=False, metadata={"help": "share the output weights with the input embeddings"})
    bloom_dim: int = field(default=0, metadata={"help": "Bloom width m; 0 means a quarter of the vocabulary (bloom only)"})
    bloom_hashes: int = field(default=2, metadata={"help": "Bloom hash functions k per track (bloom only)"})
    neighbors: int = field(
        default=100,
        metadata={"help": "neighbours kept per track (itemknn, markov fallback) or neighbour playlists (sknn)"},
    )
    recent: int = field(
        default=10,
        metadata={"help": "input positions sknn weighs, the track m positions back by 1 - m / recent (sknn only)"},
    )

    def validate(self) -> list[str]:
        """Return one message per invalid field."""
        problems = []
        if self.model not in MODEL_NAMES:
            problems.append(f"model: unknown model {self.model!r}; expected one of {', '.join(MODEL_NAMES)}")
        if self.output not in OUTPUT_NAMES:
            problems.append(f"output: unknown output {self.output!r}; expected one of {', '.join(OUTPUT_NAMES)}")
        for name in (
            "embedding_dim", "hidden_size", "layers", "attention_heads", "max_positions", "memory_slots", "memory_width",
            "read_heads", "write_heads", "bloom_hashes", "neighbors", "recent",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.shift_range < 0:
            problems.append(f"shift_range: must be at least 0, got {self.shift_range}")
        elif 2 * self.shift_range + 1 > self.memory_slots and self.model in MEMORY_MODEL_NAMES:
            problems.append(f"shift_range: shifts -{self.shift_range}..{self.shift_range} need more than {self.memory_slots} memory slots")
        if self.read_heads > self.memory_slots and self.model in MEMORY_MODEL_NAMES:
            problems.append(f"read_heads: {self.read_heads} heads need at least as many memory slots, got {self.memory_slots}")
        if self.model == "sasrec" and self.attention_heads >= 1 and self.embedding_dim % self.attention_heads:
            problems.append(f"attention_heads: {self.attention_heads} heads must divide embedding_dim, got {self.embedding_dim}")
        if not 0 <= self.usage_decay <= 1:
            problems.append(f"usage_decay: must be in [0, 1], got {self.usage_decay}")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout: must be in [0, 1), got {self.dropout}")
        if self.bloom_dim < 0 or self.bloom_dim == 1:
            problems.append(f"bloom_dim: must be 0 (automatic) or at least 2, got {self.bloom_dim}")
        return problems

    def resolved_bloom_dim(self, num_indices: int) -> int:
        return self.bloom_dim or max(2, num_indices // 4)
