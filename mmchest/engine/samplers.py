"""Positive/negative resampling per epoch (the SIIM "sliding sample rate" recipe).

``PositiveRatioSampler`` is finite (one epoch per pass, mmengine restarts the dataloader);
``InfinitePositiveRatioSampler`` yields the same epochs back to back without an end, so an
iteration-based loop never restarts its dataloader (mmengine 0.10.7 sleeps 2 s and restarts
the workers at every restart).
"""
from __future__ import annotations

import math
from typing import Iterator, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


def sliding_ratio(epoch: int, start: float, end: float, slide_epochs: int) -> float:
    """Positive probability for ``epoch``: linear from ``start`` to ``end`` over
    ``slide_epochs`` epochs, then constant at ``end``."""
    if slide_epochs <= 0:
        return end
    return start + (end - start) * min(epoch / slide_epochs, 1.0)


def draw_epoch_indices(positives: np.ndarray, negatives: np.ndarray, ratio: float,
                       num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``num_samples`` indices, each positive with probability ``ratio``.

    Within each class the draws walk through shuffled copies of the class (a new shuffle
    each time it is used up), so no image repeats before all of its class has been seen.

    Args:
        positives (np.ndarray): Indices of positive images.
        negatives (np.ndarray): Indices of negative images.
        ratio (float): Probability that a draw is positive.
        num_samples (int): Number of draws.
        rng (np.random.Generator): Random source.

    Returns:
        np.ndarray: int64 indices.
    """
    is_pos = rng.random(num_samples) < ratio
    out = np.empty(num_samples, dtype=np.int64)
    for pool, where in ((positives, is_pos), (negatives, ~is_pos)):
        need = int(where.sum())
        if need == 0:
            continue
        if len(pool) == 0:
            kind = 'positive' if pool is positives else 'negative'
            raise ValueError(f'PositiveRatioSampler: the dataset has no {kind} images but '
                             f'the positive ratio is {ratio:.2f}')
        reps = math.ceil(need / len(pool))
        out[where] = np.concatenate([rng.permutation(pool) for _ in range(reps)])[:need]
    return out


@DATA_SAMPLERS.register_module()
class PositiveRatioSampler(Sampler):
    """Each draw is a positive image with probability k; k can slide over epochs.

    The SIIM-ACR "sliding sample rate": k starts at ``positive_ratio`` (0.8 in the
    published recipe) and moves linearly to ``final_positive_ratio`` over
    ``slide_epochs`` epochs. Every epoch draws ``num_samples`` indices (default: the dataset
    length) from a generator seeded by ``(seed, epoch)``, so it is deterministic; under
    distributed training every rank computes the same list and takes its own stride of it
    (``indices[rank::world_size]``, padded to a multiple of the world size), like
    mmengine's ``DefaultSampler``. Works with epoch and iteration loops (mmengine calls
    ``set_epoch`` each pass).

    The dataset must provide ``get_positive_flags()`` (a bool array), as
    ``SIIMPneumothoraxDataset`` does.

    Args:
        dataset (Sized): The dataset.
        positive_ratio (float): k at epoch 0. Defaults to 0.8.
        final_positive_ratio (float, optional): k after ``slide_epochs``. Defaults to None
            (constant k).
        slide_epochs (int): Epochs over which k slides. Defaults to 0.
        num_samples (int, optional): Draws per epoch over all ranks. Defaults to None
            (``len(dataset)``).
        seed (int, optional): Random seed; None syncs a random one across ranks.
    """

    def __init__(self,
                 dataset: Sized,
                 positive_ratio: float = 0.8,
                 final_positive_ratio: Optional[float] = None,
                 slide_epochs: int = 0,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None) -> None:
        for name, value in (('positive_ratio', positive_ratio),
                            ('final_positive_ratio', final_positive_ratio)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {value}')
        if not hasattr(dataset, 'get_positive_flags'):
            raise TypeError(f'PositiveRatioSampler needs a dataset with get_positive_flags(); '
                            f'{type(dataset).__name__} has none')
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        flags = np.asarray(dataset.get_positive_flags(), dtype=bool)
        self.positives = np.flatnonzero(flags)
        self.negatives = np.flatnonzero(~flags)
        self.start_ratio = positive_ratio
        self.end_ratio = positive_ratio if final_positive_ratio is None else final_positive_ratio
        self.slide_epochs = slide_epochs
        self.total_draws = len(flags) if num_samples is None else int(num_samples)
        self.num_samples = math.ceil(self.total_draws / self.world_size)
        self.total_size = self.num_samples * self.world_size
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0

    @property
    def ratio(self) -> float:
        """The positive probability of the current epoch."""
        return sliding_ratio(self.epoch, self.start_ratio, self.end_ratio, self.slide_epochs)

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        indices = draw_epoch_indices(self.positives, self.negatives, self.ratio,
                                     self.total_size, rng)
        return iter(indices[self.rank:self.total_size:self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (changes the draw and, when sliding, k)."""
        self.epoch = epoch


@DATA_SAMPLERS.register_module()
class InfinitePositiveRatioSampler(PositiveRatioSampler):
    """:class:`PositiveRatioSampler` that never ends: virtual epochs back to back.

    Yields the draw of epoch ``e`` (``num_samples`` indices per rank, positive with the
    sliding probability of epoch ``e``), then that of ``e + 1``, and so on, starting from the
    epoch set with :meth:`set_epoch` (0). Each virtual epoch is exactly the list the finite
    sampler gives for that epoch (same seed, same ratios, same rank shards), so switching
    between the two changes no draw. Use it with ``IterBasedTrainLoop`` (as mmengine's
    ``InfiniteSampler``): the dataloader is never exhausted, so it is never restarted.
    ``len()`` is the length of one virtual epoch. Resuming is deterministic: mmengine
    skips the iterations already trained by drawing them again.

    Args:
        As :class:`PositiveRatioSampler`.
    """

    def __iter__(self) -> Iterator[int]:
        epoch = self.epoch
        while True:
            rng = np.random.default_rng([self.seed, epoch])
            ratio = sliding_ratio(epoch, self.start_ratio, self.end_ratio, self.slide_epochs)
            indices = draw_epoch_indices(self.positives, self.negatives, ratio,
                                         self.total_size, rng)
            yield from indices[self.rank:self.total_size:self.world_size].tolist()
            epoch += 1
