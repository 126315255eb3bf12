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
            # the loss measured on the training loader: a training loss, and a new batch order
            ("best_loss = float('inf')\n"
             "for epoch in range(1, ex1_epochs + 1):\n"
             "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, ex1_train_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = copy.deepcopy(ex1_model.state_dict())",
             "you measured the loss on ex1_train_loader"),
            # a dict comprehension without clone(): the same live tensors
            ("best_loss = float('inf')\n"
             "for epoch in range(1, ex1_epochs + 1):\n"
             "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = {k: v for k, v in ex1_model.state_dict().items()}",
             "state_dict() returns references to the live tensors"),
            # the snapshot taken before the epoch trains: the weights of the epoch before
            ("best_loss = float('inf')\n"
             "for epoch in range(1, ex1_epochs + 1):\n"
             "    before = copy.deepcopy(ex1_model.state_dict())\n"
             "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch, best_state = val_loss, epoch, before",
             "best_state is not the weights after epoch 4"),
            # the highest loss kept, not the lowest
            ("best_loss = -float('inf')\n"
             "for epoch in range(1, ex1_epochs + 1):\n"
             "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss > best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = copy.deepcopy(ex1_model.state_dict())",
             "came after epoch 4, but best_epoch is 1"),
            # the whole model kept instead of its weights
            ("best_loss = float('inf')\n"
             "for epoch in range(1, ex1_epochs + 1):\n"
             "    train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = copy.deepcopy(ex1_model)",
             "best_state must be a state_dict"),
            # forgot to train
            ("best_epoch, best_state = 1, copy.deepcopy(ex1_model.state_dict())",
             "ex1_model was not trained"),
            # an optimizer and a loader of one's own: the same weights, but not the given objects
            ("optimizer = torch.optim.Adam(ex1_model.parameters(), lr=0.1)\n"
             "best_loss = float('inf')\n"
             "for epoch in range(1, ex1_epochs + 1):\n"
             "    train(ex1_model, ex1_train_loader, optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = copy.deepcopy(ex1_model.state_dict())",
             "ex1_optimizer did not take the 96 steps"),
            ("loader, _ = make_loaders(seed=1)\n"
             "best_loss = float('inf')\n"
             "for epoch in range(1, ex1_epochs + 1):\n"
             "    train(ex1_model, loader, ex1_optimizer, epochs=1, progress=False)\n"
             "    val_loss = evaluate(ex1_model, val_loader)\n"
             "    if val_loss < best_loss:\n"
             "        best_loss, best_epoch = val_loss, epoch\n"
             "        best_state = copy.deepcopy(ex1_model.state_dict())",
             "ex1_train_loader did not shuffle ex1_epochs times"),
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
            "history = []\n"
            "for epoch, _ in enumerate(range(ex1_epochs), start=1):\n"
            "    train(ex1_model, ex1_train_loader, ex1_optimizer, 1, progress=False)\n"
            "    history.append((evaluate(ex1_model, val_loader), epoch,\n"
            "                    copy.deepcopy(ex1_model).state_dict()))\n"
            "_, best_epoch, best_state = min(history, key=lambda item: item[0])",
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
            # one class more than the file needs
            ("def load_trusted(path):\n"
             "    with torch.serialization.safe_globals([Regressor, nn.Sequential, nn.Linear, "
             "nn.ReLU,\n"
             "                                           nn.Dropout]):\n"
             "        return torch.load(path, weights_only=True)\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
             "allowed ['torch.nn.modules.dropout.Dropout'], which ex2_whole_path does not need"),
            # weights_only left to its default
            ("def load_trusted(path):\n"
             "    with torch.serialization.safe_globals([Regressor, nn.Sequential, nn.Linear, "
             "nn.ReLU]):\n"
             "        return torch.load(path)\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
             "pass weights_only=True explicitly"),
            # the allow-list and weights_only=False together: the list is then ignored
            ("def load_trusted(path):\n"
             "    with torch.serialization.safe_globals([Regressor, nn.Sequential, nn.Linear, "
             "nn.ReLU]):\n"
             "        return torch.load(path, weights_only=False)\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
             "Do not use weights_only=False"),
            # process-wide, then "cleaned up": that wipes torch's own entries too
            ("def load_trusted(path):\n"
             "    torch.serialization.add_safe_globals([Regressor, nn.Sequential, nn.Linear, "
             "nn.ReLU])\n"
             "    try:\n"
             "        return torch.load(path, weights_only=True)\n"
             "    finally:\n"
             "        torch.serialization.clear_safe_globals()\n"
             "\n"
             "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
             "the process-wide allow-list changed"),
            # the state_dict wrapped in another dict
            ("def load_trusted(path):\n"
             "    with torch.serialization.safe_globals([Regressor, nn.Sequential, nn.Linear, "
             "nn.ReLU]):\n"
             "        return torch.load(path, weights_only=True)\n"
             "\n"
             "torch.save({'model': load_trusted(ex2_whole_path).state_dict()}, ex2_path)",
             "ex2_path holds a dict that is not a state_dict"),
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
            # refuses by itself anything outside a fixed trusted set; allows what the file needs
            "TRUSTED = {'__main__.Regressor': Regressor,\n"
            "           'torch.nn.modules.container.Sequential': nn.Sequential,\n"
            "           'torch.nn.modules.linear.Linear': nn.Linear,\n"
            "           'torch.nn.modules.activation.ReLU': nn.ReLU}\n"
            "\n"
            "def load_trusted(path):\n"
            "    needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)\n"
            "    unknown = sorted(set(needed) - set(TRUSTED))\n"
            "    if unknown:\n"
            "        raise ValueError(f'{path} needs globals nobody trusted: {unknown}')\n"
            "    with torch.serialization.safe_globals([TRUSTED[name] for name in needed]):\n"
            "        return torch.load(path, map_location='cpu', weights_only=True)\n"
            "\n"
            "torch.save(load_trusted(ex2_whole_path).state_dict(), ex2_path)",
        ],
    },
    3: {
        "wrong": [
            # the answer: an unsafe load, and autograd recorded then detached
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=False))\n"
             "restored.eval()\n"
             "return restored(X).detach()",
             "Do not use weights_only=False"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "restored.eval()\n"
             "return restored(X).detach()",
             "autograd recorded the forward pass, and .detach() afterwards comes too late"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "restored is in training mode"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "restored.eval\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "Call restored.eval() (with the parentheses)"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(path)\n"
             "restored.eval()\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "Expected state_dict to be dict-like"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "with torch.inference_mode():\n"
             "    predictions = restored(X)\n"
             "restored.eval()\n"
             "return predictions",
             "call restored.eval() before computing the predictions, not after"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "restored.eval()\n"
             "return restored(X)",
             "autograd recorded the predictions (requires_grad is True)"),
            ("restored = DropNet().eval()\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "never called torch.load"),
            # weights_only left to its default
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path))\n"
             "restored.eval()\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "pass weights_only=True explicitly"),
            # strict=False: a file that lacks weights loads without a word
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True), strict=False)\n"
             "restored.eval()\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "lacks fc2.bias without an error"),
            # autograd switched off for good
            ("torch.set_grad_enabled(False)\n"
             "restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "restored.eval()\n"
             "return restored(X)",
             "switched autograd off for the rest of the notebook"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(ex3_path, weights_only=True))\n"
             "restored.eval()\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "predict_from_file ignores `path`"),
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "restored.eval()\n"
             "with torch.inference_mode():\n"
             "    return restored(ex3_X)",
             "predict_from_file ignores `X`"),
            # only the Dropout in eval mode
            ("restored = DropNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "restored.drop.eval()\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "only part of restored was in eval mode"),
            # the file read, then not loaded into the model
            ("restored = DropNet()\n"
             "torch.load(path, weights_only=True)\n"
             "restored.eval()\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "is not the prediction for X of a DropNet holding the weights in path"),
            # Step 4's model reused: the function changes a model the notebook holds
            ("restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "restored.eval()\n"
             "with torch.inference_mode():\n"
             "    return restored(X)",
             "build a new DropNet() inside the function"),
        ],
        "right": [
            "restored = DropNet()\n"
            "restored.load_state_dict(torch.load(str(path), map_location='cpu', "
            "weights_only=True))\n"
            "restored.train(False)\n"
            "with torch.no_grad():\n"
            "    predictions = restored(X)\n"
            "return predictions",
            "state = torch.load(path, map_location=torch.device('cpu'), weights_only=True)\n"
            "model = DropNet()\n"
            "result = model.load_state_dict(state, strict=False)\n"
            "if result.missing_keys or result.unexpected_keys:\n"
            "    raise KeyError(f'{path} does not fit a DropNet: {result}')\n"
            "model.eval()\n"
            "with torch.inference_mode():\n"
            "    return model(X).clone()",
            "@torch.no_grad()\n"
            "def forward(model, inputs):\n"
            "    return model.eval()(inputs)\n"
            "\n"
            "with open(path, 'rb') as f:\n"
            "    weights = torch.load(f, weights_only=True)\n"
            "model = DropNet()\n"
            "model.load_state_dict(weights)\n"
            "return forward(model, X)",
        ],
    },
}
