"""PositiveRatioSampler: ratios over many draws, sliding k, determinism, rank shards."""
import numpy as np
import pytest

import mmchest.engine.samplers as samplers
from mmchest.engine.samplers import PositiveRatioSampler, sliding_ratio


class _Flags:
    def __init__(self, flags):
        self.flags = np.asarray(flags, bool)

    def __len__(self):
        return len(self.flags)

    def get_positive_flags(self):
        return self.flags


DATA = _Flags([1] * 20 + [0] * 180)


def test_positive_ratio_over_many_draws():
    s = PositiveRatioSampler(DATA, positive_ratio=0.8, num_samples=20000, seed=0)
    idx = np.array(list(s))
    assert len(idx) == 20000
    assert abs(DATA.flags[idx].mean() - 0.8) < 0.015
    # every positive is used (no image starves), evenly
    counts = np.bincount(idx[DATA.flags[idx]], minlength=200)[:20]
    assert counts.min() >= counts.max() - 1


def test_sliding_ratio_and_epochs():
    assert sliding_ratio(0, 0.8, 0.4, 4) == pytest.approx(0.8)
    assert sliding_ratio(2, 0.8, 0.4, 4) == pytest.approx(0.6)
    assert sliding_ratio(9, 0.8, 0.4, 4) == pytest.approx(0.4)
    s = PositiveRatioSampler(DATA, positive_ratio=0.8, final_positive_ratio=0.2,
                             slide_epochs=2, num_samples=10000, seed=1)
    s.set_epoch(2)
    assert abs(DATA.flags[list(s)].mean() - 0.2) < 0.02


def test_deterministic_per_seed_and_epoch():
    a = PositiveRatioSampler(DATA, seed=3)
    b = PositiveRatioSampler(DATA, seed=3)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)


def test_ranks_draw_disjoint_shares(monkeypatch):
    shards = []
    for rank in range(3):
        monkeypatch.setattr(samplers, 'get_dist_info', lambda r=rank: (r, 3))
        s = PositiveRatioSampler(DATA, num_samples=100, seed=5)
        assert len(s) == 34
        shards.append(list(s))
    monkeypatch.setattr(samplers, 'get_dist_info', lambda: (0, 1))
    full = list(PositiveRatioSampler(DATA, num_samples=102, seed=5))
    interleaved = [shards[r][i] for i in range(34) for r in range(3)]
    assert interleaved == full


def test_errors_are_clear():
    with pytest.raises(ValueError, match='no positive'):
        list(PositiveRatioSampler(_Flags([0, 0, 0]), positive_ratio=0.5, seed=0))
    with pytest.raises(ValueError, match='positive_ratio'):
        PositiveRatioSampler(DATA, positive_ratio=1.5)
    with pytest.raises(TypeError, match='get_positive_flags'):
        PositiveRatioSampler([1, 2, 3])


def test_infinite_sampler_is_the_finite_epochs_back_to_back(monkeypatch):
    monkeypatch.setattr(samplers, 'get_dist_info', lambda: (1, 2))  # rank 1 of 2
    kwargs = dict(positive_ratio=0.8, final_positive_ratio=0.2, slide_epochs=2,
                  num_samples=1000, seed=7)
    finite = PositiveRatioSampler(DATA, **kwargs)
    expected = []
    for epoch in range(4):
        finite.set_epoch(epoch)
        expected.append(list(finite))
    infinite = samplers.InfinitePositiveRatioSampler(DATA, **kwargs)
    assert len(infinite) == len(finite) == 500
    it = iter(infinite)
    got = [[next(it) for _ in range(500)] for _ in range(4)]
    assert got == expected  # same draws, same sliding ratios per virtual epoch
    ratios = [DATA.flags[e].mean() for e in got]
    assert ratios[0] > 0.7 and ratios[2] < 0.3 and ratios[3] < 0.3


def test_iteration_loop_crosses_virtual_epochs_without_a_restart():
    """mmengine's IterBasedTrainLoop iterator: 5 virtual epochs, no StopIteration."""
    from mmengine.runner.loops import _InfiniteDataloaderIterator
    from torch.utils.data import DataLoader

    class Indices(_Flags):
        def __getitem__(self, i):
            return i

    data = Indices(DATA.flags)
    sampler = samplers.InfinitePositiveRatioSampler(data, num_samples=40, seed=2)
    loader = DataLoader(data, batch_size=8, sampler=sampler, num_workers=0)
    iterator = _InfiniteDataloaderIterator(loader)
    seen = [int(i) for _ in range(25) for i in next(iterator)]  # 200 draws = 5 epochs
    assert iterator._epoch == 0  # the dataloader was never exhausted and restarted
    finite = PositiveRatioSampler(data, num_samples=40, seed=2)
    expected = []
    for epoch in range(5):
        finite.set_epoch(epoch)
        expected += list(finite)
    assert seen == expected
