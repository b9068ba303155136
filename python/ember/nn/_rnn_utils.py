"""ember.nn.utils.rnn: PackedSequence and the packing helpers, as torch.nn.utils.rnn.

A PackedSequence holds the steps of a batch of sequences sorted by decreasing length:
`data` is the rows of step 0 for every sequence, then step 1 for the sequences that
long, and so on; `batch_sizes[t]` says how many rows step t has. Packing and unpacking
are composed from slicing and concatenation, so gradients flow through them.
"""

from collections import namedtuple

import numpy as np

from .. import _C


def _invert_permutation(permutation):
    if permutation is None:
        return None
    order = np.empty(permutation.numel(), dtype=np.int64)
    order[permutation.numpy()] = np.arange(permutation.numel())
    return _C.tensor(order)


class PackedSequence(
    namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])
):
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = _invert_permutation(sorted_indices)
        if batch_sizes is None:  # the tuple form PackedSequence(*packed)
            data, batch_sizes = data[0], data[1]
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._with_data(data)

    def float(self):
        return self._with_data(self.data.float())

    def double(self):
        return self._with_data(self.data.double())

    def cpu(self):
        return self

    def detach(self):
        return self._with_data(self.data.detach())

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def _lengths_list(lengths):
    if isinstance(lengths, _C.Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(
                f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                f"{lengths.dim()}D {str(lengths.dtype).split('.')[-1]} tensor"
            )
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    lengths = _lengths_list(lengths)
    if enforce_sorted:
        sorted_indices = None
    else:
        order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
        sorted_indices = _C.tensor(order.astype(np.int64))
        lengths = [lengths[i] for i in order]
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    batch = input.shape[1]
    if len(lengths) != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
            f"(batch_size={batch})"
        )
    if any(a < b for a, b in zip(lengths, lengths[1:])):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
            "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
            "to sidestep this requirement if you do not need ONNX exportability."
        )
    if lengths and lengths[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if lengths and lengths[0] > input.shape[0]:
        raise RuntimeError(
            f"Expected the sequence length to be at least {lengths[0]}, got {input.shape[0]}"
        )
    sizes = [sum(1 for n in lengths if n > t) for t in range(lengths[0] if lengths else 0)]
    data = _C.cat([input[t, :bs] for t, bs in enumerate(sizes)], 0)
    return PackedSequence(data, _C.tensor(sizes, dtype=_C.int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    data, batch_sizes, _, unsorted = sequence
    sizes = [int(v) for v in batch_sizes.tolist()]
    max_len = len(sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_len}"
            )
    else:
        total_length = max_len
    batch = sizes[0]
    feature = tuple(data.shape[1:])
    rows, offset = [], 0
    for bs in sizes:
        step = data[offset : offset + bs]
        offset += bs
        if bs < batch:
            pad = _C.full((batch - bs, *feature), padding_value, dtype=data.dtype)
            step = _C.cat([step, pad], 0)
        rows.append(step)
    for _ in range(total_length - max_len):
        rows.append(_C.full((batch, *feature), padding_value, dtype=data.dtype))
    padded = _C.stack(rows, 0)
    lengths = _C.tensor([sum(1 for bs in sizes if bs > b) for b in range(batch)], dtype=_C.int64)
    if unsorted is not None:
        padded = padded.index_select(1, unsorted)
        lengths = lengths.index_select(0, unsorted)
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    if isinstance(sequences, _C.Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            pad = _C.full((missing, *s.shape[1:]), padding_value, dtype=s.dtype)
            s = _C.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        padded.append(s)
    return _C.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[: int(n)] for seq, n in zip(padded_sequences, lengths)]


def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
