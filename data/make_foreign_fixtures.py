"""Write the fixtures that *other tools* save: a Lightning checkpoint and a transformers model.

Students load checkpoints they did not make. These tiny files (each well under 50 KB) let
``tests/test_foreign_files.py`` check ``load_checkpoint`` and ``inspect_checkpoint`` against
``torch.load(path, weights_only=True)`` on real files from those tools, without the tests
needing the tools themselves:

- ``lightning_tiny.ckpt``: ``Trainer.save_checkpoint`` of a tiny ``LightningModule`` (one
  ``nn.Linear(4, 2)``, ``save_hyperparameters()`` with ``hidden=4, lr=0.1``) trained for one step
  on 8 seeded random samples; holds ``state_dict``, ``optimizer_states``, ``hyper_parameters``,
  the loop state and Lightning's version;
- ``transformers_tiny_pytorch_model.bin``: ``BertModel(BertConfig(vocab_size=20,
  hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
  max_position_embeddings=16))`` with ``torch.manual_seed(0)``, written by
  ``save_pretrained(folder, safe_serialization=False)``; built from the config, nothing
  downloaded;
- ``transformers_tiny_model.safetensors``: the same model by ``save_pretrained(folder)``
  (safetensors, with transformers' ``{"format": "pt"}`` metadata).

It needs ``lightning`` and ``transformers``, which the kit itself does not use: install them in
a separate throwaway environment, never in the kit's own venv::

    python3 -m venv /tmp/foreignenv
    /tmp/foreignenv/bin/pip install torch==2.13.0 lightning "transformers<5"
    /tmp/foreignenv/bin/python data/make_foreign_fixtures.py            # writes into data/
    /tmp/foreignenv/bin/python data/make_foreign_fixtures.py --out DIR  # or elsewhere

The committed files were made with torch 2.13.0, lightning 2.6.6 and transformers 4.57.6
(transformers 5 writes safetensors only: `save_pretrained` no longer writes `pytorch_model.bin`,
so install `"transformers<5"`).
Lightning and torch write a random serialization id into each archive, so a regenerated file
differs from the committed one; data/README.md lists the committed files' checksums.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write_lightning(out: Path) -> Path:
    """A tiny LightningModule trained one step, saved by its Trainer."""
    import lightning as L
    import torch
    from torch import nn

    class TinyModule(L.LightningModule):
        def __init__(self, hidden: int = 4, lr: float = 0.1) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = nn.Linear(hidden, 2)

        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            x, y = batch
            return nn.functional.mse_loss(self.layer(x), y)

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 2))
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    with tempfile.TemporaryDirectory() as logs:
        trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False,
                            default_root_dir=logs, accelerator="cpu")
        trainer.fit(TinyModule(), loader)
        path = out / "lightning_tiny.ckpt"
        trainer.save_checkpoint(path)
    return path


def write_transformers(out: Path) -> list[Path]:
    """A tiny BERT built from its config, saved as pytorch_model.bin and model.safetensors."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=16, max_position_embeddings=16)
    model = BertModel(config)
    written = []
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, safe_serialization=False)
        written.append(shutil.copy(Path(folder) / "pytorch_model.bin",
                                   out / "transformers_tiny_pytorch_model.bin"))
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        written.append(shutil.copy(Path(folder) / "model.safetensors",
                                   out / "transformers_tiny_model.safetensors"))
    return [Path(p) for p in written]


def main() -> None:
    """Write every fixture into --out (default: data/) and print each size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for path in [write_lightning(out), *write_transformers(out)]:
        print(f"{path.name}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
