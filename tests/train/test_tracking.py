"""MlflowTracker: a training run's params, per-step terms, images, previews and model in MLflow,
continued by the resumed run."""

from __future__ import annotations

import dataclasses

import torch

from h2h.core.tracking import MlflowTracker
from h2h.nn.generator_file import load_generator
from h2h.train.data import WindowDataset
from h2h.train.loop import train
from h2h.train.synthetic import synthetic_clip
from tests.support.params import options
from tests.support.training import NO_VGG, TINY


def test_resumed_training_continues_its_mlflow_run(tmp_path, monkeypatch):
    import mlflow.pytorch
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)  # the artifact store goes beside the database
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    dataset = WindowDataset([synthetic_clip(20, 32)], TINY)
    config = options(epochs=2, decay_epochs=1, steps_per_epoch=2, preview_frames=4,
                         checkpoint_every=100)

    def tracker() -> MlflowTracker:
        return MlflowTracker("finetune", "synthetic", root=tmp_path)

    first = train(TINY, dataset, tmp_path / "out", dataclasses.replace(config, time_budget_s=1e-9),
                  NO_VGG, tracker=tracker())
    client = MlflowClient(uri)
    assert client.get_run(first.run_id).info.status == "KILLED"  # stopped by the budget
    second = train(TINY, dataset, tmp_path / "out", config, NO_VGG, tracker=tracker())
    assert second.resumed_from == 1 and second.run_id == first.run_id

    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "h2h-finetune"
    assert client.get_experiment(run.info.experiment_id).tags["mlflow.experimentKind"] == (
        "custom_model_development")  # mlflow ui opens on the runs table
    assert run.data.tags["stage"] == "finetune" and run.data.tags["unit"] == "synthetic"
    assert run.data.params["train.lr"] == "0.0002" and run.data.params["model.ngf"] == "8"
    assert [m.step for m in client.get_metric_history(first.run_id, "g_total")] == [1, 2, 3, 4]
    for key in ("g_adv_image", "g_feat_dynamics", "d_mouth_fake", "d_total", "l1", "lr_g",
                "it_per_s"):
        assert key in run.data.metrics, key
    assert run.data.metrics["lr_g"] == 1e-4  # the last step of the decaying epoch
    listed = {a.path for folder in ("", "previews")
              for a in client.list_artifacts(first.run_id, folder or None)}
    assert {"previews/epoch-001.mp4", "previews/epoch-002.mp4", "losses.csv", "images"} <= listed
    generator = mlflow.pytorch.load_model(f"runs:/{first.run_id}/generator")
    saved, _ = load_generator(second.generator)
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(),
                                                  saved.state_dict().values()))
    assert any(a.path.endswith(".png") for a in client.list_artifacts(first.run_id, "images"))
    assert (tmp_path / "mlflow.db.lock").exists()


def test_a_run_missing_from_the_store_is_replaced(tmp_path):
    from h2h.core.tracking import MlflowTracker

    tracker = MlflowTracker("finetune", "gone", root=tmp_path)
    run_id = tracker.start("0123456789abcdef0123456789abcdef")
    assert run_id != "0123456789abcdef0123456789abcdef" and tracker.run_id == run_id
