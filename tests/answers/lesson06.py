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
            # parameters only: the buffers of the state_dict are left out
            ("own = dict(model.named_parameters())\n"
             "keep = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}\n"
             "model.load_state_dict(keep, strict=False)\n"
             "return list(keep)",
             "buffers (BatchNorm's running statistics) are in model.state_dict()"),
            # the number of elements, not the shape
            ("model_sd = model.state_dict()\n"
             "keep = {k: v for k, v in state_dict.items()\n"
             "        if k in model_sd and v.numel() == model_sd[k].numel()}\n"
             "model.load_state_dict(keep, strict=False)\n"
             "return list(keep)",
             "not only the same number of elements"),
            # strict=True refuses a dict that lacks some of the model's tensors
            ("model_sd = model.state_dict()\n"
             "keep = {k: v for k, v in state_dict.items()\n"
             "        if k in model_sd and v.shape == model_sd[k].shape}\n"
             "model.load_state_dict(keep)\n"
             "return list(keep)",
             "load it with model.load_state_dict(..., strict=False)"),
            # the keys as a view, not a list
            ("model_sd = model.state_dict()\n"
             "keep = {k: v for k, v in state_dict.items()\n"
             "        if k in model_sd and v.shape == model_sd[k].shape}\n"
             "model.load_state_dict(keep, strict=False)\n"
             "return keep.keys()",
             "return the list of the keys you loaded, a list"),
            # the names of the model that the state_dict provides, whatever their shape
            ("model_sd = model.state_dict()\n"
             "keep = {k: v for k, v in state_dict.items() if k in model_sd}\n"
             "try:\n"
             "    model.load_state_dict(keep, strict=False)\n"
             "except RuntimeError:\n"
             "    pass\n"
             "return list(keep)",
             "return the list of the keys you loaded"),
            # the lesson's model_sd (a DeepNet's) instead of the given model's state_dict
            ("fits = {k: v for k, v in state_dict.items()\n"
             "        if k in model_sd and v.shape == model_sd[k].shape}\n"
             "model.load_state_dict(fits, strict=False)\n"
             "return list(fits)",
             "compare with the state_dict of the model you are given"),
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
            # one key at a time: a load that raises for one tensor copies nothing
            "loaded = []\n"
            "for key, tensor in state_dict.items():\n"
            "    try:\n"
            "        result = model.load_state_dict({key: tensor}, strict=False)\n"
            "    except RuntimeError:\n"
            "        continue\n"
            "    if not result.unexpected_keys:\n"
            "        loaded.append(key)\n"
            "return loaded",
        ],
    },
    2: {
        "wrong": [
            ("return dict(state_dict)",
             "left 'hidden.weight' as it was"),
            ("return {k.replace('hidden', 'fc2').replace('out', 'fc1'): v\n"
             "        for k, v in state_dict.items()}",
             "hidden was Net's first layer (fc1), out its second (fc2)"),
            ("return Net().state_dict()",
             "none of the tensors of a version-1 Net's state_dict"),
            ("return {k.replace('hidden', 'fc1').replace('out', 'fc2'): v\n"
             "        for k, v in old_sd.items()}",
             "the dict upgrade is given (not old_sd)"),
            # the pattern Step 4 warns against: rewrites the names anywhere in a key
            ("return {k.replace('hidden', 'fc1').replace('out', 'fc2'): v\n"
             "        for k, v in state_dict.items()}",
             "turned 'hidden_norm.weight'"),
            ("return {k.replace('hidden.', 'fc1.').replace('out.', 'fc2.'): v\n"
             "        for k, v in state_dict.items()}",
             "only the layers hidden and out are renamed"),
            ("import re\n"
             "return {re.sub('^out', 'fc2', re.sub('^hidden', 'fc1', k)): v\n"
             "        for k, v in state_dict.items()}",
             "turned 'hidden_norm.weight'"),
            # only the four keys of Net: the other layers are dropped, or raise
            ("names = {'hidden.weight': 'fc1.weight', 'hidden.bias': 'fc1.bias',\n"
             "         'out.weight': 'fc2.weight', 'out.bias': 'fc2.bias'}\n"
             "return {names[k]: v for k, v in state_dict.items()}",
             "upgrade raised KeyError"),
            ("new_names = {'hidden.': 'fc1.', 'out.': 'fc2.'}\n"
             "return {new + k.removeprefix(old): v for k, v in state_dict.items()\n"
             "        for old, new in new_names.items() if k.startswith(old)}",
             "is missing from what upgrade returned"),
            # renames in place and returns the given dict
            ("for old, new in (('hidden.', 'fc1.'), ('out.', 'fc2.')):\n"
             "    for k in [k for k in state_dict if k.startswith(old)]:\n"
             "        state_dict[new + k.removeprefix(old)] = state_dict.pop(k)\n"
             "return state_dict",
             "upgrade changed the dict it was given"),
        ],
        "right": [
            "names = {'hidden.weight': 'fc1.weight', 'hidden.bias': 'fc1.bias',\n"
            "         'out.weight': 'fc2.weight', 'out.bias': 'fc2.bias'}\n"
            "return {names.get(k, k): v for k, v in state_dict.items()}",
            "new_sd = {}\n"
            "for key, tensor in state_dict.items():\n"
            "    layer, _, rest = key.partition('.')\n"
            "    if layer in ('hidden', 'out') and rest:\n"
            "        key = {'hidden': 'fc1', 'out': 'fc2'}[layer] + '.' + rest\n"
            "    new_sd[key] = tensor\n"
            "return new_sd",
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
             "fine_tune drew no batch from the train_loader it was given"),
            # froze, but the optimizer holds every parameter
            ("model.fc1.requires_grad_(False)\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "train(model, train_loader, optimizer, epochs, progress=False)\n"
             "return optimizer",
             "give the optimizer only the trainable parameters"),
            # one epoch, whatever `epochs` says
            ("model.fc1.requires_grad_(False)\n"
             "optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad])\n"
             "train(model, train_loader, optimizer, 1, progress=False)\n"
             "return optimizer",
             "fine_tune went through train_loader 1 time(s):"),
            ("model.fc1.requires_grad_(False)\n"
             "optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad])\n"
             "for epoch in range(epochs):\n"
             "    train(model, train_loader, optimizer, epochs, progress=False)\n"
             "return optimizer",
             "fine_tune went through train_loader 4 time(s)"),
            # one batch per epoch
            ("model.fc1.requires_grad_(False)\n"
             "optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad])\n"
             "for _ in range(epochs):\n"
             "    xb, yb = next(iter(train_loader))\n"
             "    optimizer.zero_grad()\n"
             "    nn.functional.mse_loss(model(xb), yb).backward()\n"
             "    optimizer.step()\n"
             "return optimizer",
             "in each epoch, train on every batch"),
            # trains on the lesson's loader, not the one it is given
            ("model.fc1.requires_grad_(False)\n"
             "optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad])\n"
             "train(model, new_train_loader, optimizer, epochs, progress=False)\n"
             "return optimizer",
             "train on train_loader, the argument"),
            # returns a fresh optimizer, not the one that trained
            ("model.fc1.requires_grad_(False)\n"
             "trainable = [p for p in model.parameters() if p.requires_grad]\n"
             "train(model, train_loader, torch.optim.Adam(trainable), epochs, progress=False)\n"
             "return torch.optim.Adam(trainable)",
             "return the optimizer you trained with"),
            # frozen only after training, with an optimizer that never held fc1
            ("new_params = [*model.hidden.parameters(), *model.fc2.parameters()]\n"
             "optimizer = torch.optim.Adam(new_params, lr=0.01)\n"
             "train(model, train_loader, optimizer, epochs, progress=False)\n"
             "model.fc1.requires_grad_(False)\n"
             "return optimizer",
             "freeze it before you train"),
            # the optimizer steps once per epoch, not once per batch
            ("model.fc1.requires_grad_(False)\n"
             "optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad])\n"
             "for _ in range(epochs):\n"
             "    optimizer.zero_grad()\n"
             "    for xb, yb in train_loader:\n"
             "        nn.functional.mse_loss(model(xb), yb).backward()\n"
             "    optimizer.step()\n"
             "return optimizer",
             "take one optimizer step per batch"),
            # the lesson's optimizer, built for another model
            ("model.fc1.requires_grad_(False)\n"
             "train(model, train_loader, optimizer, epochs, progress=False)\n"
             "return optimizer",
             "holds none of the parameters of the model fine_tune was given"),
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
            # train's progress bar left on
            "model.fc1.weight.requires_grad = False\n"
            "model.fc1.bias.requires_grad = False\n"
            "optimizer = torch.optim.SGD([{'params': model.hidden.parameters()},\n"
            "                             {'params': model.fc2.parameters(), 'lr': 0.05}], lr=0.1)\n"
            "train(model, train_loader, optimizer, epochs)\n"
            "return optimizer",
        ],
    },
}
