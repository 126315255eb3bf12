"""Answers a student plausibly writes to the exercises of lesson 03: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
    1: {
        "wrong": [
            # the snapshot is a reference: it follows the model to the last epoch
            ("best_loss, best_epoch, best_state = float('inf'), None, None\n"
             "for epoch in range(1, ex1_epochs + 1):\n"
             "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = ex1_model.state_dict()",
             "state_dict() returns references to the live tensors"),
            # a shallow copy: a new dict, the same tensors
            ("best_loss, best_epoch, best_state = float('inf'), None, None\n"
             "for epoch in range(1, ex1_epochs + 1):\n"
             "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = dict(ex1_model.state_dict())",
             "copies only the dict"),
            # epochs numbered from 0
            ("best_loss = float('inf')\n"
             "for epoch in range(ex1_epochs):\n"
             "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = copy.deepcopy(ex1_model.state_dict())",
             "number the epochs from 1"),
            # all epochs in one call: no chance to keep the best one
            ("train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=ex1_epochs, progress=False)\n"
             "best_epoch = ex1_epochs\n"
             "best_state = copy.deepcopy(ex1_model.state_dict())",
             "came after epoch 4, but best_epoch is 6"),
            # trains one epoch too many
            ("best_loss = float('inf')\n"
             "for epoch in range(1, ex1_epochs + 2):\n"
             "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = copy.deepcopy(ex1_model.state_dict())",
             "train it exactly ex1_epochs epochs"),
        ],
        "right": [
            "losses, snapshots = [], []\n"
            "for _ in range(ex1_epochs):\n"
            "    train(ex1_model, ex1_train_loader, ex1_optimizer, 1, progress=False)\n"
            "    losses.append(evaluate(ex1_model, val_loader))\n"
            "    snapshots.append({k: v.detach().clone() for k, v in ex1_model.state_dict().items()})\n"
            "best_index = min(range(len(losses)), key=losses.__getitem__)\n"
            "best_epoch = best_index + 1\n"
            "best_state = snapshots[best_index]",
            "best_path = Path('checkpoints') / 'ex1_best.pt'\n"
            "best_path.parent.mkdir(exist_ok=True)\n"
            "lowest = None\n"
            "for epoch in range(1, ex1_epochs + 1):\n"
            "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
            "    loss = evaluate(ex1_model, val_loader)\n"
            "    if lowest is None or loss < lowest:\n"
            "        lowest, best_epoch = loss, epoch\n"
            "        torch.save(ex1_model.state_dict(), best_path)\n"
            "best_state = torch.load(best_path, map_location='cpu', weights_only=True)",
        ],
    },
    2: {
        "wrong": [
            ("def load_trusted(path):\n"
             "    return torch.load(path, weights_only=False)\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
             "Do not use weights_only=False"),
            ("torch.serialization.add_safe_globals([Regressor, nn.Sequential, nn.Linear, nn.ReLU])\n"
             "\n"
             "def load_trusted(path):\n"
             "    return torch.load(path, weights_only=True)\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
             "the process-wide allow-list changed"),
            ("def load_trusted(path):\n"
             "    with torch.serialization.safe_globals([Regressor, nn.Sequential, nn.Linear, nn.ReLU]):\n"
             "        return torch.load(path, weights_only=True)\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path), ex2_path)",
             "it holds a whole model again"),
            # allow whatever the file asks for: the same as trusting every file
            ("import importlib\n"
             "\n"
             "def load_trusted(path):\n"
             "    needed = []\n"
             "    for name in torch.serialization.get_unsafe_globals_in_checkpoint(path):\n"
             "        module, _, attr = name.rpartition('.')\n"
             "        needed.append(getattr(importlib.import_module(module), attr))\n"
             "    with torch.serialization.safe_globals(needed):\n"
             "        return torch.load(path, weights_only=True)\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
             "do not allow whatever the file asks for"),
            ("def load_trusted(path):\n"
             "    with torch.serialization.safe_globals([Regressor, nn.Sequential, nn.Linear, nn.ReLU]):\n"
             "        return torch.load(ex2_whole_path, weights_only=True)\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
             "load_trusted(path) ignores `path`"),
            ("def load_trusted(path):\n"
             "    with torch.serialization.safe_globals([Regressor, nn.Sequential, nn.Linear, nn.ReLU]):\n"
             "        return torch.load(path, weights_only=True)\n"
             "\n"
             "torch.save(Regressor().state_dict(), ex2_path)",
             "does not hold the weights of ex2_whole_path"),
            # ReLU forgotten: the load itself refuses, in the answer cell
            ("def load_trusted(path):\n"
             "    with torch.serialization.safe_globals([Regressor, nn.Sequential, nn.Linear]):\n"
             "        return torch.load(path, weights_only=True)\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
             "your answer cell raised UnpicklingError: Weights only load failed"),
        ],
        "right": [
            "from torch.serialization import get_unsafe_globals_in_checkpoint, safe_globals\n"
            "\n"
            "assert sorted(get_unsafe_globals_in_checkpoint(ex2_whole_path)) == [\n"
            "    '__main__.Regressor', 'torch.nn.modules.activation.ReLU',\n"
            "    'torch.nn.modules.container.Sequential', 'torch.nn.modules.linear.Linear']\n"
            "TRUSTED = [(Regressor, '__main__.Regressor'), torch.nn.modules.container.Sequential,\n"
            "           torch.nn.modules.linear.Linear, torch.nn.modules.activation.ReLU]\n"
            "\n"
            "def load_trusted(path):\n"
            "    with safe_globals(TRUSTED):\n"
            "        model = torch.load(str(path), map_location='cpu', weights_only=True)\n"
            "    return model\n"
            "\n"
            "weights = {k: v.clone() for k, v in load_trusted(ex2_whole_path).state_dict().items()}\n"
            "with open(ex2_path, 'wb') as f:\n"
            "    torch.save(weights, f)",
        ],
    },
    3: {
        "wrong": [
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(ex3_path, weights_only=True))\n"
             "with torch.inference_mode():\n"
             "    ex3_predictions = restored(ex3_X)",
             "restored is in training mode"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(ex3_path, weights_only=True))\n"
             "restored.eval\n"
             "with torch.inference_mode():\n"
             "    ex3_predictions = restored(ex3_X)",
             "Call restored.eval() (with the parentheses)"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(ex3_path)\n"
             "restored.eval()\n"
             "with torch.inference_mode():\n"
             "    ex3_predictions = restored(ex3_X)",
             "Expected state_dict to be dict-like"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(ex3_path, weights_only=True))\n"
             "with torch.inference_mode():\n"
             "    ex3_predictions = restored(ex3_X)\n"
             "restored.eval()",
             "call restored.eval() before computing them, not after"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(ex3_path, weights_only=True))\n"
             "restored.eval()\n"
             "ex3_predictions = restored(ex3_X)",
             "autograd recorded ex3_predictions"),
            ("restored = DropNet().eval()\n"
             "with torch.inference_mode():\n"
             "    ex3_predictions = restored(ex3_X)",
             "does not hold the weights in ex3_path"),
        ],
        "right": [
            "restored = DropNet()\n"
            "restored.load_state_dict(torch.load(str(ex3_path), map_location='cpu', "
            "weights_only=True))\n"
            "restored.train(False)\n"
            "with torch.no_grad():\n"
            "    ex3_predictions = restored(ex3_X)",
            "state = torch.load(ex3_path, map_location=torch.device('cpu'), weights_only=True)\n"
            "restored = DropNet()\n"
            "restored.load_state_dict(state)\n"
            "ex3_predictions = restored.eval()(ex3_X).detach()",
        ],
    },
}
