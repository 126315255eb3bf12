"""Answers a student plausibly writes to the exercises of lesson 06: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
    1: {
        "wrong": [
            ("model.load_state_dict(state_dict, strict=False)\n"
             "return list(state_dict)",
             "strict=False forgives missing and unexpected names, not shapes"),
            ("keep = {k: v for k, v in state_dict.items() if k in model.state_dict()}\n"
             "model.load_state_dict(keep, strict=False)\n"
             "return list(keep)",
             "Pass only the tensors whose name exists in the model with the same shape"),
            ("model_sd = model.state_dict()\n"
             "keep = {k: v for k, v in state_dict.items() if v.shape == model_sd[k].shape}\n"
             "model.load_state_dict(keep, strict=False)\n"
             "return list(keep)",
             "the state_dict holds names the model does not have"),
            ("model_sd = model.state_dict()\n"
             "keep = {k: v for k, v in state_dict.items()\n"
             "        if k in model_sd and v.shape == model_sd[k].shape}\n"
             "model.load_state_dict(keep, strict=False)\n"
             "return list(state_dict)",
             "return the list of the keys you loaded"),
            ("model_sd = model.state_dict()\n"
             "return [k for k, v in state_dict.items()\n"
             "        if k in model_sd and v.shape == model_sd[k].shape]",
             "did not receive the checkpoint's fc1"),
        ],
        "right": [
            # copies in place: the tensors of state_dict() share memory with the model
            "loaded = []\n"
            "own = model.state_dict()\n"
            "with torch.no_grad():\n"
            "    for name, tensor in state_dict.items():\n"
            "        target = own.get(name)\n"
            "        if target is not None and target.shape == tensor.shape:\n"
            "            target.copy_(tensor)\n"
            "            loaded.append(name)\n"
            "return loaded",
            # builds a complete state_dict and loads it strictly
            "merged = dict(model.state_dict())\n"
            "names = [k for k in state_dict if k in merged and merged[k].size() == "
            "state_dict[k].size()]\n"
            "merged.update({k: state_dict[k] for k in names})\n"
            "model.load_state_dict(merged)\n"
            "return names",
        ],
    },
    2: {
        "wrong": [
            ("return dict(state_dict)",
             "Map the prefix hidden. to fc1. and out. to fc2."),
            ("return {k.replace('hidden', 'fc2').replace('out', 'fc1'): v\n"
             "        for k, v in state_dict.items()}",
             "hidden was Net's first layer (fc1), out its second (fc2)"),
            ("return Net().state_dict()",
             "keep the tensors, change only their names"),
            ("return {k.replace('hidden', 'fc1').replace('out', 'fc2'): v\n"
             "        for k, v in old_sd.items()}",
             "upgrade(state_dict) ignores its argument"),
        ],
        "right": [
            "names = {'hidden.weight': 'fc1.weight', 'hidden.bias': 'fc1.bias',\n"
            "         'out.weight': 'fc2.weight', 'out.bias': 'fc2.bias'}\n"
            "return {names[k]: v for k, v in state_dict.items()}",
            "import re\n"
            "return {re.sub(r'^out\\.', 'fc2.', re.sub(r'^hidden\\.', 'fc1.', k)): v.clone()\n"
            "        for k, v in state_dict.items()}",
        ],
    },
    3: {
        "wrong": [
            # forgot to freeze
            ("optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "train(model, train_loader, optimizer, epochs, progress=False)\n"
             "return optimizer",
             "fc1 still has requires_grad=True"),
            # froze everything (the optimizer gets an empty list)
            ("model.requires_grad_(False)\n"
             "optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad])\n"
             "train(model, train_loader, optimizer, epochs, progress=False)\n"
             "return optimizer",
             "you froze every layer"),
            # froze everything (backward finds nothing to differentiate)
            ("model.requires_grad_(False)\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "train(model, train_loader, optimizer, epochs, progress=False)\n"
             "return optimizer",
             "you froze every layer"),
            # froze after training
            ("optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "train(model, train_loader, optimizer, epochs, progress=False)\n"
             "model.fc1.requires_grad_(False)\n"
             "return optimizer",
             "freeze it before you train, not after"),
            # froze, but never trained
            ("model.fc1.requires_grad_(False)\n"
             "return torch.optim.Adam([p for p in model.parameters() if p.requires_grad])",
             "hidden and fc2 did not change"),
            # froze, but the optimizer holds every parameter
            ("model.fc1.requires_grad_(False)\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "train(model, train_loader, optimizer, epochs, progress=False)\n"
             "return optimizer",
             "give the optimizer only the trainable parameters"),
        ],
        "right": [
            # flags by name, SGD with momentum, a hand-written loop
            "for name, p in model.named_parameters():\n"
            "    p.requires_grad = not name.startswith('fc1.')\n"
            "opt = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()),\n"
            "                      lr=0.05, momentum=0.9)\n"
            "model.train()\n"
            "for _ in range(epochs):\n"
            "    for xb, yb in train_loader:\n"
            "        opt.zero_grad()\n"
            "        nn.functional.mse_loss(model(xb), yb).backward()\n"
            "        opt.step()\n"
            "return opt",
            # the new layers listed explicitly
            "for p in model.fc1.parameters():\n"
            "    p.requires_grad_(False)\n"
            "new_params = [*model.hidden.parameters(), *model.fc2.parameters()]\n"
            "optimizer = torch.optim.AdamW(new_params, lr=1e-3)\n"
            "train(model, train_loader, optimizer, epochs=epochs, progress=False)\n"
            "return optimizer",
        ],
    },
}
