"""The benchmark helper returns figures (speed itself is not asserted)."""

from h2h.nn import ModelConfig, count_parameters, build_models
from h2h.nn.bench import benchmark


def test_benchmark_returns_positive_figures_for_a_tiny_config():
    config = ModelConfig(resolution=32, ngf=8, n_blocks=2, ndf=8, temporal_scales=2)
    result = benchmark(config, repeats=1)
    assert result["frames"] == config.min_sequence_length == 5
    assert result["g_params"] == count_parameters(build_models(config).generator)
    for key in ("d_params", "g_forward_ms_per_frame", "train_step_ms", "peak_rss_mb"):
        assert result[key] > 0, key
    assert result["train_step_ms_per_frame"] == result["train_step_ms"] / 5
