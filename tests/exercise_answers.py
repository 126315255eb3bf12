"""Answers that students plausibly write, per lesson and exercise, for the checker's tests.

- "wrong": (answer, a piece of the hint the checker must give) — each must fail;
- "right": answers that differ from the reference solution but are correct — each must pass.

An answer replaces the `raise NotImplementedError()` stub of the student notebook, at its indent.
"""

ANSWERS: dict[str, dict[int, dict[str, list]]] = {
    "08_big_checkpoints.ipynb": {
        1: {
            "wrong": [
                # the optimizer holds the meta parameters that assign=True then replaces
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
                 "ckpt = torch.load(path, mmap=True, weights_only=True)\n"
                 "model.load_state_dict(ckpt['model'], assign=True)\n"
                 "optimizer.load_state_dict(ckpt['optimizer'])\n"
                 "return model, optimizer",
                 "Build the optimizer after the load"),
                # the silent no-op: copies into meta tensors
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "ckpt = torch.load(path, mmap=True, weights_only=True)\n"
                 "model.load_state_dict(ckpt['model'])\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
                 "optimizer.load_state_dict(ckpt['optimizer'])\n"
                 "return model, optimizer",
                 "Pass assign=True"),
                # correct values, but the slow path: random init of a full model first
                ("model = model_class()\n"
                 "ckpt = torch.load(path, weights_only=True)\n"
                 "model.load_state_dict(ckpt['model'])\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
                 "optimizer.load_state_dict(ckpt['optimizer'])\n"
                 "return model, optimizer",
                 "the model was built on cpu"),
                ("torch.set_default_device('meta')\n"
                 "model = model_class()\n"
                 "ckpt = torch.load(path, mmap=True, map_location='cpu', weights_only=True)\n"
                 "model.load_state_dict(ckpt['model'], assign=True)\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
                 "optimizer.load_state_dict(ckpt['optimizer'])\n"
                 "return model, optimizer",
                 "torch.set_default_device"),
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "model.load_state_dict(torch.load(path, mmap=True, weights_only=True)['model'],\n"
                 "                      assign=True)\n"
                 "return model, torch.optim.Adam(model.parameters(), lr=1e-3)",
                 "the optimizer starts over"),
                ("with torch.device('meta'):\n"
                 "    model = ExNet()\n"
                 "ckpt = torch.load(path, mmap=True, weights_only=True)\n"
                 "model.load_state_dict(ckpt['model'], assign=True)\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
                 "optimizer.load_state_dict(ckpt['optimizer'])\n"
                 "return model, optimizer",
                 "build the model by calling model_class()"),
            ],
            "right": [
                "model = load_weights(model_class, path)\n"
                "optimizer = torch.optim.Adam(model.parameters())\n"
                "optimizer.load_state_dict(load_checkpoint(path)['optimizer'])\n"
                "return model, optimizer",
                # memory first, then a copy: slower than assign, but built on meta and correct
                "with torch.device('meta'):\n"
                "    net = model_class()\n"
                "net.to_empty(device='cpu')\n"
                "ckpt = torch.load(path, map_location='cpu', weights_only=True)\n"
                "net.load_state_dict(ckpt['model'])\n"
                "adam = torch.optim.Adam(net.parameters(), lr=0.5)\n"
                "adam.load_state_dict(ckpt['optimizer'])\n"
                "return (net, adam)",
            ],
        },
        2: {
            "wrong": [
                ("with safe_open(path, framework='pt') as f:\n"
                 "    return f.get_slice(name)[start:stop]",
                 "your rows are a view"),
                ("from safetensors.torch import load\n"
                 "return load(Path(path).read_bytes())[name][start:stop].clone()",
                 "raised this process's peak memory"),
                # the pread backend reads the whole tensor to cut a slice out of it
                ("with safe_open(path, framework='pt', backend='pread') as f:\n"
                 "    return f.get_slice(name)[start:stop]",
                 "raised this process's peak memory"),
                ("with safe_open(path, framework='pt') as f:\n"
                 "    return f.get_slice(name)[start:stop + 1].clone()",
                 "rows start to stop - 1"),
                ("with safe_open(path, framework='pt') as f:\n"
                 "    return f.get_slice(name)[:, start:stop].clone()",
                 "rows start to stop - 1"),
                ("with safe_open(path, framework='np') as f:\n"
                 "    return f.get_slice(name)[start:stop].copy()",
                 "return a torch tensor"),
            ],
            "right": [
                # safetensors maps the file: load_file reads nothing until a tensor is used
                "return load_file(path)[name][start:stop].clone()",
                "import json\n"
                "with open(path, 'rb') as f:\n"
                "    header_size = int.from_bytes(f.read(8), 'little')\n"
                "    entry = json.loads(f.read(header_size))[name]\n"
                "    row_shape = entry['shape'][1:]\n"
                "    row_bytes = 4  # float32\n"
                "    for size in row_shape:\n"
                "        row_bytes *= size\n"
                "    f.seek(8 + header_size + entry['data_offsets'][0] + start * row_bytes)\n"
                "    data = bytearray(f.read((stop - start) * row_bytes))\n"
                "return torch.frombuffer(data, dtype=torch.float32).reshape(stop - start, *row_shape)",
                "with safe_open(path, framework='np') as f:\n"
                "    return torch.from_numpy(f.get_slice(name)[start:stop].copy())",
            ],
        },
        3: {
            "wrong": [
                # the snippet as it was
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "print(model.load_state_dict(torch.load(path, mmap=True, weights_only=True)))\n"
                 "return model",
                 "Pass assign=True"),
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "model.load_state_dict(torch.load(path, mmap=True, weights_only=True), assign=True)\n"
                 "return model",
                 "persistent=False"),
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "model.load_state_dict(torch.load(path, mmap=True, weights_only=True), assign=True)\n"
                 "left = [n for n, p in model.named_parameters() if p.is_meta]\n"
                 "if left:\n"
                 "    raise ValueError(f'still on meta: {left}')\n"
                 "return model",
                 "persistent=False"),
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "model.load_state_dict(torch.load(path, mmap=True, weights_only=True), assign=True)\n"
                 "left = [n for n, t in model.state_dict().items() if t.is_meta]\n"
                 "if left:\n"
                 "    raise ValueError(f'still on meta: {left}')\n"
                 "return model",
                 "state_dict() skips such buffers"),
                ("model = model_class()\n"
                 "model.load_state_dict(torch.load(path, weights_only=True))\n"
                 "return model",
                 "fix the load instead"),
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "model.load_state_dict(torch.load(path, mmap=True, weights_only=True), assign=True)\n"
                 "left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]\n"
                 "if left:\n"
                 "    raise RuntimeError(f'still on meta: {left}')\n"
                 "return model",
                 "not RuntimeError"),
                # to_empty gives memory, not values: the unsaved buffer holds garbage
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "model.to_empty(device='cpu')\n"
                 "model.load_state_dict(torch.load(path, weights_only=True))\n"
                 "return model",
                 "uninitialised"),
                # the check is right, the load is not
                ("with torch.device('meta'):\n"
                 "    model = model_class()\n"
                 "model.load_state_dict(torch.load(path, mmap=True, weights_only=True))\n"
                 "left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]\n"
                 "if left:\n"
                 "    raise ValueError(f'still on meta: {left}')\n"
                 "return model",
                 "did the load really fill it"),
            ],
            "right": [
                "try:\n"
                "    return load_weights(model_class, path)\n"
                "except CheckpointMismatchError as error:\n"
                "    raise ValueError(str(error)) from error",
                "import itertools\n"
                "with torch.device('meta'):\n"
                "    net = model_class()\n"
                "state = torch.load(path, map_location='cpu', weights_only=True)\n"
                "net.load_state_dict(state, assign=True)\n"
                "missing = [name for name, tensor in itertools.chain(net.named_parameters(),\n"
                "                                                    net.named_buffers())\n"
                "           if tensor.device.type == 'meta']\n"
                "if missing:\n"
                "    raise ValueError('no values for ' + ', '.join(missing))\n"
                "return net",
            ],
        },
    },
    "01_define_the_net.ipynb": {
        1: {
            "wrong": [
                ("return len(state_dict)", "Net's state_dict holds 430 numbers"),
                ("return sum(t.numel() for t in state_dict.values() if t.is_floating_point())",
                 "count the buffers too"),
                ("return sum(len(t) for t in state_dict.values())", "your function says 60"),
            ],
            "right": [
                "total = 0\n"
                "for name in state_dict:\n"
                "    total += state_dict[name].nelement()\n"
                "return total",
            ],
        },
        2: {
            "wrong": [
                ("ex2_path.parent.mkdir(exist_ok=True)\n"
                 "torch.save(source, ex2_path)\n"
                 "restored = torch.load(ex2_path, weights_only=False)",
                 "it holds a whole pickled model"),
                ("ex2_path.parent.mkdir(exist_ok=True)\n"
                 "torch.save(source.state_dict(), ex2_path)\n"
                 "restored = Net()",
                 "did you call restored.load_state_dict"),
                ("ex2_path.parent.mkdir(exist_ok=True)\n"
                 "torch.save(source.state_dict(), ex2_path)\n"
                 "restored = Net()\n"
                 "restored.load_state_dict(ex2_path)",
                 "Expected state_dict to be dict-like"),
            ],
            "right": [
                "import os\n"
                "os.makedirs('checkpoints', exist_ok=True)\n"
                "with open(ex2_path, 'wb') as f:\n"
                "    torch.save(source.state_dict(), f)\n"
                "restored = Net()\n"
                "restored.load_state_dict(torch.load(str(ex2_path), map_location='cpu', "
                "weights_only=True))\n"
                "restored.eval()",
            ],
        },
        3: {
            "wrong": [
                ("ex3_path.parent.mkdir(exist_ok=True)\n"
                 "optimizer = torch.optim.Adam(ex3_model.parameters())\n"
                 "torch.save(optimizer.state_dict(), ex3_path)",
                 "weights did not change"),
                ("ex3_path.parent.mkdir(exist_ok=True)\n"
                 "optimizer = torch.optim.SGD(ex3_model.parameters(), lr=0.1)\n"
                 "nn.functional.mse_loss(ex3_model(ex3_X), ex3_y).backward()\n"
                 "optimizer.step()\n"
                 "torch.save(optimizer.state_dict(), ex3_path)",
                 "plain SGD keeps no state"),
                ("ex3_path.parent.mkdir(exist_ok=True)\n"
                 "optimizer = torch.optim.Adam(ex3_model.parameters())\n"
                 "nn.functional.mse_loss(ex3_model(ex3_X), ex3_y).backward()\n"
                 "optimizer.step()\n"
                 "torch.save(optimizer, ex3_path)",
                 "not the optimizer object"),
            ],
            "right": [
                "ex3_path.parent.mkdir(exist_ok=True)\n"
                "opt = torch.optim.Adam(ex3_model.parameters(), lr=0.1)\n"
                "loss = ((ex3_model(ex3_X) - ex3_y) ** 2).mean()\n"
                "opt.zero_grad()\n"
                "loss.backward()\n"
                "opt.step()\n"
                "torch.save(opt.state_dict(), str(ex3_path))",
            ],
        },
    },
    "02_train.ipynb": {
        1: {
            "wrong": [
                ("with torch.no_grad():\n"
                 "    return model(X)",
                 "call model.eval() before the forward pass"),
                ("model.eval()\n"
                 "return model(X)",
                 "autograd recorded your predictions"),
                ("model.eval\n"
                 "with torch.inference_mode():\n"
                 "    return model(X)",
                 "call model.eval() before the forward pass"),
            ],
            "right": [
                "model.train(False)\n"
                "with torch.no_grad():\n"
                "    out = model(X)\n"
                "return out",
                "return model.eval()(X).detach()",
            ],
        },
        2: {
            "wrong": [
                ("my_model = Net()\n"
                 "my_optimizer = torch.optim.SGD(my_model.parameters(), lr=0.01)\n"
                 "my_history = train(my_model, train_loader, my_optimizer, 30, progress=False)",
                 "is not below 0.05"),
                ("my_model = Net()\n"
                 "my_optimizer = torch.optim.SGD(my_model.parameters(), lr=0.01)\n"
                 "my_history = train(my_model, train_loader, my_optimizer, 100, progress=False)",
                 "at most 30 are allowed"),
                ("my_model = momentum_model\n"
                 "my_history = curves",
                 "train a new model"),
            ],
            "right": [
                "my_model = ReLUNet()\n"
                "opt = torch.optim.Adam(my_model.parameters(), lr=0.01)\n"
                "my_history = train(my_model, train_loader, opt, epochs=30, val_loader=val_loader)",
                "my_model = Net()\n"
                "my_history = train(my_model, train_loader,\n"
                "                   torch.optim.SGD(my_model.parameters(), lr=0.1), 20)",
            ],
        },
        3: {
            "wrong": [
                ("torch.save(model, ex3_path)\n"
                 "\n"
                 "def load_for_inference(path):\n"
                 "    return torch.load(path, weights_only=False).eval()",
                 "it holds a whole pickled model"),
                ("torch.save(model.state_dict(), ex3_path)\n"
                 "\n"
                 "def load_for_inference(path):\n"
                 "    restored = Net()\n"
                 "    restored.load_state_dict(torch.load(path, weights_only=True))\n"
                 "    return restored",
                 "is in training mode"),
                ("torch.save(model.state_dict(), ex3_path)\n"
                 "\n"
                 "def load_for_inference(path):\n"
                 "    return Net().eval()",
                 "does not hold the saved weights"),
                ("torch.save(model.state_dict(), ex3_path)\n"
                 "\n"
                 "def load_for_inference(path):\n"
                 "    restored = ReLUNet()\n"
                 "    restored.load_state_dict(torch.load(path, weights_only=True))\n"
                 "    return restored.eval()",
                 "build the class that was saved"),
                ("torch.save(Net().state_dict(), ex3_path)\n"
                 "\n"
                 "def load_for_inference(path):\n"
                 "    restored = Net()\n"
                 "    restored.load_state_dict(torch.load(path, weights_only=True))\n"
                 "    return restored.eval()",
                 "does not hold the trained weights"),
                ("torch.save(model.state_dict(), ex3_path)\n"
                 "\n"
                 "def load_for_inference(path):\n"
                 "    return model.eval()",
                 "ignores `path`"),
            ],
            "right": [
                "import os\n"
                "os.makedirs('checkpoints', exist_ok=True)\n"
                "weights = {name: t.detach().cpu().clone() for name, t in model.state_dict().items()}\n"
                "torch.save(weights, str(ex3_path))\n"
                "\n"
                "def load_for_inference(path):\n"
                "    net = Net()\n"
                "    state = torch.load(path, map_location=torch.device('cpu'), weights_only=True)\n"
                "    net.load_state_dict(state)\n"
                "    net.train(False)\n"
                "    return net",
            ],
        },
    },
    "05_across_devices.ipynb": {
        1: {
            "wrong": [
                ("return torch.load(path, weights_only=True)",
                 "saved on cuda:0 raised RuntimeError"),
                ("return torch.load(path, map_location={'cuda:0': 'cpu'}, weights_only=True)",
                 "saved on cuda:1 raised RuntimeError"),
                ("sd = torch.load(path, weights_only=True)\n"
                 "return {key: t.cpu() for key, t in sd.items()}",
                 "pass map_location=\"cpu\""),
                ("return torch.load(path, map_location={'cuda': 'cpu'}, weights_only=True)",
                 "A dict only remaps the tags it names"),
            ],
            "right": [
                "return torch.load(path, map_location=lambda storage, loc: storage, "
                "weights_only=True)",
                "with open(path, 'rb') as f:\n"
                "    ckpt_on_cpu = torch.load(f, map_location='cpu', weights_only=True)\n"
                "return ckpt_on_cpu",
            ],
        },
        2: {
            "wrong": [
                ("cleaned = OrderedDict(state_dict)\n"
                 "consume_prefix_in_state_dict_if_present(cleaned, 'module.')\n"
                 "return cleaned",
                 "remove both prefixes"),
                ("return {k.replace('module.', '').replace('_orig_mod.', ''): v\n"
                 "        for k, v in state_dict.items()}",
                 "only the prefix at the start of a key goes"),
                ("return {k.lstrip('module.').lstrip('_orig_mod.'): v for k, v in state_dict.items()}",
                 "only the prefix at the start of a key goes"),
                ("for prefix in ('module.', '_orig_mod.'):\n"
                 "    consume_prefix_in_state_dict_if_present(state_dict, prefix)\n"
                 "return state_dict",
                 "changed the dict it was given"),
                ("for prefix in ('module.', '_orig_mod.'):\n"
                 "    consume_prefix_in_state_dict_if_present(state_dict, prefix)",
                 "clean_keys returned None"),
            ],
            "right": [
                "return {k.removeprefix('module.').removeprefix('_orig_mod.'): v\n"
                "        for k, v in state_dict.items()}",
                "cleaned = {}\n"
                "for key, value in state_dict.items():\n"
                "    for prefix in ('module.', '_orig_mod.'):\n"
                "        if key.startswith(prefix):\n"
                "            key = key[len(prefix):]\n"
                "    cleaned[key] = value.clone()\n"
                "return cleaned",
            ],
        },
        3: {
            "wrong": [
                ("model = Net()\n"
                 "model.load_state_dict(ckpt['model'])\n"
                 "optimizer = torch.optim.Adam(model.parameters())\n"
                 "optimizer.load_state_dict(ckpt['optimizer'])\n"
                 "model.to(device=device, dtype=dtype)\n"
                 "return model, optimizer",
                 "call model.to(...) before optimizer.load_state_dict(...)"),
                ("model = Net().to(device=device, dtype=dtype)\n"
                 "model.load_state_dict(ckpt['model'])\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
                 "return model, optimizer",
                 "the optimizer's state is empty"),
                ("model = Net().to(device=device, dtype=dtype)\n"
                 "model.load_state_dict(ckpt['model'])\n"
                 "optimizer = torch.optim.Adam(Net().to(device=device, dtype=dtype).parameters())\n"
                 "optimizer.load_state_dict(ckpt['optimizer'])\n"
                 "return model, optimizer",
                 "the optimizer does not update the model you return"),
                ("model = Net().double()\n"
                 "model.load_state_dict(ckpt['model'])\n"
                 "optimizer = torch.optim.Adam(model.parameters())\n"
                 "optimizer.load_state_dict(ckpt['optimizer'])\n"
                 "return model, optimizer",
                 "call model.to(device=device, dtype=dtype)"),
                ("model = Net().to(device=device, dtype=dtype)\n"
                 "optimizer = torch.optim.Adam(model.parameters())\n"
                 "optimizer.load_state_dict(ckpt['optimizer'])\n"
                 "return model, optimizer",
                 "does not hold the checkpoint's weights"),
            ],
            "right": [
                "model = Net()\n"
                "model.load_state_dict(ckpt['model'])\n"
                "model = model.to(device, dtype)\n"
                "opt = torch.optim.Adam(model.parameters(), lr=1.0)\n"
                "opt.load_state_dict(ckpt['optimizer'])\n"
                "return model, opt",
                "net = Net()\n"
                "net.to(dtype=dtype)\n"
                "net.to(device)\n"
                "net.load_state_dict({k: v.to(device) for k, v in ckpt['model'].items()})\n"
                "adam = torch.optim.Adam(net.parameters())\n"
                "adam.load_state_dict(ckpt['optimizer'])\n"
                "return (net, adam)",
            ],
        },
    },
    "06_transfer_and_partial_loading.ipynb": {
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
    },
    "04_checkpoints_and_resume.ipynb": {
        1: {
            "wrong": [
                ("torch.save(make_checkpoint(int(epoch), loss, math.inf, model, optimizer, "
                 "scheduler,\n"
                 "                           train_loader, vars(args)), path)",
                 "the loss is stored as a tensor"),
                ("torch.save(make_checkpoint(epoch, loss.item(), math.inf, model, optimizer, "
                 "scheduler,\n"
                 "                           train_loader, vars(args)), path)",
                 "refuses your file"),
                ("torch.save(make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer,\n"
                 "                           scheduler, train_loader, args), path)",
                 "argparse.Namespace"),
                ("torch.save(make_checkpoint(int(epoch), float(loss), math.inf, model, optimizer,\n"
                 "                           scheduler, train_loader, vars(args)), path)",
                 "save_ckpt warned"),
                ("torch.save({\"format_version\": 1, \"epoch\": int(epoch), "
                 "\"model\": model.state_dict(),\n"
                 "            \"scheduler\": scheduler.state_dict(), \"loss\": loss.item(),\n"
                 "            \"best_val_loss\": math.inf, \"config\": vars(args),\n"
                 "            \"rng\": {\"torch\": torch.get_rng_state(), \"cuda\": None,\n"
                 "                    \"loader\": train_loader.generator.get_state(),\n"
                 "                    \"python\": random.getstate()}}, path)",
                 "your checkpoint lacks ['optimizer']"),
                ("ckpt = make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer, "
                 "scheduler,\n"
                 "                       train_loader, vars(args))\n"
                 "ckpt[\"rng\"][\"loader\"] = torch.get_rng_state()  # the global generator, "
                 "not the loader's\n"
                 "torch.save(ckpt, path)",
                 "train_loader.generator.get_state()"),
            ],
            "right": [
                "ckpt = {\n"
                "    \"format_version\": FORMAT_VERSION,\n"
                "    \"epoch\": epoch.item(),\n"
                "    \"model\": model.state_dict(),\n"
                "    \"optimizer\": optimizer.state_dict(),\n"
                "    \"scheduler\": scheduler.state_dict(),\n"
                "    \"loss\": float(loss.detach()),\n"
                "    \"best_val_loss\": float(\"inf\"),\n"
                "    \"rng\": {\n"
                "        \"torch\": torch.get_rng_state(),\n"
                "        \"cuda\": None,\n"
                "        \"loader\": train_loader.generator.get_state(),\n"
                "        \"python\": random.getstate(),\n"
                "    },\n"
                "    \"config\": dict(vars(args)),\n"
                "}\n"
                "path.parent.mkdir(parents=True, exist_ok=True)\n"
                "with open(path, \"wb\") as f:\n"
                "    torch.save(ckpt, f)",
            ],
        },
        2: {
            "wrong": [
                ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
                 "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
                 "    raise ValueError(\"unknown format\")\n"
                 "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
                 "model.load_state_dict(ckpt[\"model\"])\n"
                 "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
                 "restore_rng(ckpt[\"rng\"], train_loader)\n"
                 "return model, optimizer, scheduler, train_loader, val_loader, "
                 "ckpt[\"epoch\"] + 1",
                 "the scheduler starts over"),
                ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
                 "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
                 "    raise ValueError(\"unknown format\")\n"
                 "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
                 "model.load_state_dict(ckpt[\"model\"])\n"
                 "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
                 "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
                 "torch.set_rng_state(ckpt[\"rng\"][\"torch\"])\n"
                 "return model, optimizer, scheduler, train_loader, val_loader, "
                 "ckpt[\"epoch\"] + 1",
                 "the training loader's generator starts over"),
                ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
                 "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
                 "    raise ValueError(\"unknown format\")\n"
                 "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
                 "model.load_state_dict(ckpt[\"model\"])\n"
                 "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
                 "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
                 "restore_rng(ckpt[\"rng\"], train_loader)\n"
                 "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"]",
                 "the first epoch to train is 4, not 3"),
                ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
                 "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
                 "model.load_state_dict(ckpt[\"model\"])\n"
                 "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
                 "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
                 "restore_rng(ckpt[\"rng\"], train_loader)\n"
                 "return model, optimizer, scheduler, train_loader, val_loader, "
                 "ckpt[\"epoch\"] + 1",
                 "resume accepted a file with format_version 2"),
                ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
                 "assert ckpt[\"format_version\"] == FORMAT_VERSION\n"
                 "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
                 "model.load_state_dict(ckpt[\"model\"])\n"
                 "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
                 "restore_rng(ckpt[\"rng\"], train_loader)\n"
                 "return model, optimizer, scheduler, train_loader, val_loader, "
                 "ckpt[\"epoch\"] + 1",
                 "the optimizer starts over"),
                ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
                 "assert ckpt[\"format_version\"] == FORMAT_VERSION, \"unknown format\"\n"
                 "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
                 "model.load_state_dict(ckpt[\"model\"])\n"
                 "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
                 "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
                 "restore_rng(ckpt[\"rng\"], train_loader)\n"
                 "return model, optimizer, scheduler, train_loader, val_loader, "
                 "ckpt[\"epoch\"] + 1",
                 "not an assert"),
            ],
            "right": [
                "state = torch.load(str(path), weights_only=True, map_location=torch.device(\"cpu\"))\n"
                "if state.get(\"format_version\") != 1:\n"
                "    raise ValueError(f\"cannot read checkpoint format {state.get('format_version')}\")\n"
                "cfg = state[\"config\"]\n"
                "net = MODELS[cfg[\"model\"]]()\n"
                "net.load_state_dict(state[\"model\"])\n"
                "opt = torch.optim.Adam(net.parameters(), lr=cfg[\"lr\"])\n"
                "opt.load_state_dict(state[\"optimizer\"])\n"
                "sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg[\"step_size\"], "
                "gamma=cfg[\"gamma\"])\n"
                "sched.load_state_dict(state[\"scheduler\"])\n"
                "train_dl, val_dl = make_loaders(batch_size=cfg[\"batch_size\"], seed=cfg[\"seed\"])\n"
                "train_dl.generator.set_state(state[\"rng\"][\"loader\"])\n"
                "torch.set_rng_state(state[\"rng\"][\"torch\"])\n"
                "random.setstate(state[\"rng\"][\"python\"])\n"
                "return net, opt, sched, train_dl, val_dl, state[\"epoch\"] + 1",
            ],
        },
        3: {
            "wrong": [
                ("if val_loss > best_val_loss:\n"
                 "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
                 "\"model\": model.state_dict()}, path)\n"
                 "    return val_loss\n"
                 "return best_val_loss",
                 "nothing was saved after epoch 1"),
                ("torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
                 "\"model\": model.state_dict()}, path)\n"
                 "return min(val_loss, best_val_loss)",
                 "save only when val_loss < best_val_loss"),
                ("if val_loss < best_val_loss:\n"
                 "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
                 "\"model\": model.state_dict()}, path)\n"
                 "return val_loss",
                 "keep_best returned 0.4"),
                ("if val_loss < best_val_loss:\n"
                 "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, \"model\": model}, path)\n"
                 "    return val_loss\n"
                 "return best_val_loss",
                 "refuses your file"),
            ],
            "right": [
                "if not val_loss < best_val_loss:\n"
                "    return best_val_loss\n"
                "weights = {name: t.detach().clone() for name, t in model.state_dict().items()}\n"
                "torch.save(dict(epoch=epoch, val_loss=float(val_loss), model=weights), str(path))\n"
                "return val_loss",
            ],
        },
    },
    "03_whole_model_vs_state_dict.ipynb": {
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
    },
    "07_trust_and_formats.ipynb": {
        1: {
            "wrong": [
                # loads the file to see whether it loads: runs the payload
                ("try:\n"
                 "    torch.load(path, map_location='cpu', weights_only=False)\n"
                 "    return True\n"
                 "except Exception:\n"
                 "    return False",
                 "ran the code inside"),
                # a denylist over the raw bytes
                ("with open(path, 'rb') as f:\n"
                 "    data = f.read()\n"
                 "return not any(word in data for word in (b'system', b'rmtree', b'exec'))",
                 "a denylist misses"),
                # the lesson's own denylist scanner
                ("return scan(path) == 'clean'",
                 "a denylist misses"),
                # weights_only=True as the test, but a refusal raises instead of answering False
                ("torch.load(path, map_location='cpu', weights_only=True)\n"
                 "return True",
                 "a refusal means the file is not safe"),
                # trusts the name
                ("if str(path).endswith('.safetensors'):\n"
                 "    return True\n"
                 "return inspect_checkpoint(path).format == 'torch zip' and "
                 "not inspect_checkpoint(path).unsafe_globals",
                 "judge a file by its bytes, not its name"),
                # torch's lister knows neither safetensors nor the legacy format
                ("return not torch.serialization.get_unsafe_globals_in_checkpoint(path)",
                 "raised ValueError on weights.safetensors"),
                # no unsafe globals, but not a checkpoint either
                ("return not inspect_checkpoint(path).unsafe_globals",
                 "which is not a checkpoint at all"),
            ],
            "right": [
                "info = ckpt_helpers.inspect_checkpoint(str(path))\n"
                "loadable = {ckpt_helpers.SAFETENSORS, ckpt_helpers.TORCH_ZIP, "
                "ckpt_helpers.TORCH_LEGACY}\n"
                "return info.format in loadable and len(info.unsafe_globals) == 0",
                # sniff the format, then let the weights_only=True allowlist decide
                "kind = inspect_checkpoint(path).format\n"
                "if kind == 'safetensors':\n"
                "    return True\n"
                "if kind not in ('torch zip', 'legacy torch'):\n"
                "    return False\n"
                "try:\n"
                "    torch.load(path, map_location='cpu', weights_only=True)\n"
                "except Exception:\n"
                "    return False\n"
                "return True",
            ],
        },
        2: {
            "wrong": [
                ("def save_tied(model, path):\n"
                 "    save_file(model.state_dict(), path)\n"
                 "\n"
                 "def load_tied(path):\n"
                 "    model = TinyLM()\n"
                 "    model.load_state_dict(load_file(path))\n"
                 "    return model",
                 "save_file refuses tensors that share memory"),
                ("def save_tied(model, path):\n"
                 "    torch.save(model.state_dict(), path)\n"
                 "\n"
                 "def load_tied(path):\n"
                 "    model = TinyLM()\n"
                 "    model.load_state_dict(torch.load(path, weights_only=True))\n"
                 "    return model",
                 "not safetensors"),
                # unties the model so that save_file accepts it
                ("def save_tied(model, path):\n"
                 "    model.head.weight = nn.Parameter(model.embed.weight.detach().clone())\n"
                 "    save_file(model.state_dict(), path)\n"
                 "\n"
                 "def load_tied(path):\n"
                 "    model = TinyLM()\n"
                 "    model.load_state_dict(load_file(path))\n"
                 "    return model",
                 "save_tied untied the model"),
                # two copies in the file, loaded with assign=True
                ("def save_tied(model, path):\n"
                 "    save_file({k: v.clone() for k, v in model.state_dict().items()}, path)\n"
                 "\n"
                 "def load_tied(path):\n"
                 "    model = TinyLM()\n"
                 "    model.load_state_dict(load_file(path), assign=True)\n"
                 "    return model",
                 "the loaded model is no longer tied"),
                ("def save_tied(model, path):\n"
                 "    save_model(model, path)\n"
                 "\n"
                 "def load_tied(path):\n"
                 "    return TinyLM().eval()",
                 "predicts differently"),
            ],
            "right": [
                # two copies in the file; a plain load copies both into the one tied parameter
                "def save_tied(model, path):\n"
                "    save_file({k: v.detach().clone() for k, v in model.state_dict().items()},\n"
                "              str(path))\n"
                "\n"
                "def load_tied(path):\n"
                "    net = TinyLM()\n"
                "    net.load_state_dict(load_file(str(path)))\n"
                "    return net.eval()",
                # the alias left out by hand, and the report of the partial load checked
                "def save_tied(model, path):\n"
                "    weights = {k: v for k, v in model.state_dict().items() if k != 'head.weight'}\n"
                "    save_file(weights, path, metadata={'tied': 'head.weight=embed.weight'})\n"
                "\n"
                "def load_tied(path):\n"
                "    model = TinyLM()\n"
                "    report = model.load_state_dict(load_file(path), strict=False)\n"
                "    assert report.missing_keys == ['head.weight'] and not report.unexpected_keys\n"
                "    return model",
            ],
        },
        3: {
            "wrong": [
                # newest by modification time, no integrity check
                ("files = sorted(Path(folder).glob('step_*.pt'), key=lambda p: p.stat().st_mtime)\n"
                 "return files[-1] if files else None",
                 "step_1200.pt is truncated"),
                # "loads without an error": the flipped bit passes torch.load
                ("def step(p):\n"
                 "    return int(p.stem.split('_')[1])\n"
                 "for path in sorted(Path(folder).glob('step_*.pt'), key=step, reverse=True):\n"
                 "    try:\n"
                 "        torch.load(path, weights_only=True)\n"
                 "    except Exception:\n"
                 "        continue\n"
                 "    return path\n"
                 "return None",
                 "torch.load does not check the CRC-32s"),
                # checked, but ordered by name
                ("for path in sorted(Path(folder).glob('*.pt'), reverse=True):\n"
                 "    try:\n"
                 "        load_checkpoint(path)\n"
                 "        return path\n"
                 "    except CheckpointError:\n"
                 "        pass\n"
                 "return None",
                 "compare the step numbers as numbers"),
                # testzip on every file: a truncated one is not even a zip
                ("intact = [p for p in Path(folder).glob('step_*.pt')\n"
                 "          if zipfile.ZipFile(p).testzip() is None]\n"
                 "return max(intact, key=lambda p: int(p.stem[5:]), default=None)",
                 "skip damaged files"),
                # falls back to the newest file when none is intact
                ("paths = sorted(Path(folder).glob('step_*.pt'), key=lambda p: int(p.stem[5:]))\n"
                 "for path in reversed(paths):\n"
                 "    try:\n"
                 "        with zipfile.ZipFile(path) as archive:\n"
                 "            if archive.testzip() is None:\n"
                 "                return path\n"
                 "    except zipfile.BadZipFile:\n"
                 "        pass\n"
                 "return paths[-1]",
                 "return None when no checkpoint is intact"),
            ],
            "right": [
                "from ckpt_helpers import latest_checkpoint\n"
                "return latest_checkpoint(folder, r'step_\\d+\\.pt')",
                "candidates = []\n"
                "for path in Path(folder).iterdir():\n"
                "    match = re.fullmatch(r'step_(\\d+)\\.pt', path.name)\n"
                "    if match:\n"
                "        candidates.append((int(match.group(1)), path))\n"
                "for _, path in sorted(candidates, reverse=True):\n"
                "    try:\n"
                "        with zipfile.ZipFile(path) as archive:\n"
                "            if archive.testzip() is None:\n"
                "                return str(path)\n"
                "    except (zipfile.BadZipFile, OSError):\n"
                "        continue\n"
                "return None",
            ],
        },
    },
    "09_export_and_deploy.ipynb": {
        1: {
            "wrong": [
                # no dynamic_shapes: every dimension is fixed to the example's size
                ("torch.export.save(torch.export.export(ex1_model, (torch.randn(4, 10),)), ex1_path)",
                 "refuses a batch of 1 rows"),
                # an example batch of 1 pins the batch dimension: the export itself fails
                ("ex1_program = torch.export.export(ex1_model, (torch.randn(1, 10),),\n"
                 "                                  dynamic_shapes={'x': {0: Dim('batch')}})\n"
                 "torch.export.save(ex1_program, ex1_path)",
                 "Constraints violated (batch)"),
                # Dim.AUTO with an example batch of 1: silently specialised to 1
                ("ex1_program = torch.export.export(ex1_model, (torch.randn(1, 10),),\n"
                 "                                  dynamic_shapes={'x': {0: Dim.AUTO}})\n"
                 "torch.export.save(ex1_program, ex1_path)",
                 "refuses a batch of 7 rows"),
                # torch.save pickles the ExportedProgram: not a .pt2 archive
                ("ex1_program = torch.export.export(ex1_model, (torch.randn(4, 10),),\n"
                 "                                  dynamic_shapes={'x': {0: Dim('batch')}})\n"
                 "torch.save(ex1_program, ex1_path)",
                 "holds a torch zip file, not an exported program"),
                # another model's weights
                ("ex1_program = torch.export.export(ReLUNet().eval(), (torch.randn(4, 10),),\n"
                 "                                  dynamic_shapes={'x': {0: Dim('batch')}})\n"
                 "torch.export.save(ex1_program, ex1_path)",
                 "predictions differ from ex1_model's"),
            ],
            "right": [
                "from torch.export import Dim as D\n"
                "rows = D('rows', min=1, max=4096)\n"
                "ep = torch.export.export(ex1_model, args=(torch.zeros(16, 10),),\n"
                "                         dynamic_shapes=({0: rows},))\n"
                "torch.export.save(ep, str(ex1_path))",
                "ep = torch.export.export(ex1_model, (torch.randn(3, 10),),\n"
                "                         dynamic_shapes={'x': {0: Dim.DYNAMIC}})\n"
                "with open(ex1_path, 'wb') as f:\n"
                "    torch.export.save(ep, f)",
            ],
        },
        2: {
            "wrong": [
                # the colleague's function, unchanged
                ("torch.export.save(torch.export.export(model, (example,)), path)",
                 "predicts differently on every call"),
                ("model.eval\n"
                 "torch.export.save(torch.export.export(model, (example,)), path)",
                 "Call model.eval(), with the parentheses"),
                # no_grad turns off autograd, not Dropout or BatchNorm
                ("with torch.no_grad():\n"
                 "    program = torch.export.export(model, (example,))\n"
                 "torch.export.save(program, path)",
                 "torch.no_grad() and inference_mode() do not change the mode"),
                # too late: the exported module has no eval()
                ("torch.export.save(torch.export.export(model, (example,)), path)\n"
                 "torch.export.load(path).module().eval()",
                 "cannot be switched to eval mode"),
                # Step 1's program, in eval mode but of another model
                ("torch.export.save(program, path)",
                 "export the model you are given"),
            ],
            "right": [
                "serving_model = copy.deepcopy(model).eval()   # the caller's model keeps its mode\n"
                "ep = torch.export.export(serving_model, args=(example,))\n"
                "torch.export.save(ep, str(path))",
                "model.train(False)\n"
                "ep = torch.export.export(model, (example,), dynamic_shapes={'x': {0: Dim('batch')}})\n"
                "with open(path, 'wb') as f:\n"
                "    torch.export.save(ep, f)",
            ],
        },
        3: {
            "wrong": [
                # the class is not there: that is the point of exporting
                ('deploy_script = """\n'
                 "import torch\n"
                 "model = ServeNet()\n"
                 "model.load_state_dict(torch.export.load('checkpoints/09/ex3_program.pt2').state_dict)\n"
                 "X = torch.load('checkpoints/09/ex3_inputs.pt', weights_only=True)\n"
                 "torch.save(model.eval()(X).detach(), 'checkpoints/09/ex3_predictions.pt')\n"
                 '"""',
                 "NameError: name 'ServeNet' is not defined"),
                # a .pt2 file is not a torch.save file
                ('deploy_script = """\n'
                 "import torch\n"
                 "served = torch.load('checkpoints/09/ex3_program.pt2', weights_only=False)\n"
                 "X = torch.load('checkpoints/09/ex3_inputs.pt', weights_only=True)\n"
                 "torch.save(served(X), 'checkpoints/09/ex3_predictions.pt')\n"
                 '"""',
                 "failed locating file data.pkl"),
                ('deploy_script = """\n'
                 "import torch\n"
                 "served = torch.export.load('checkpoints/09/ex3_program.pt2').module().eval()\n"
                 "X = torch.load('checkpoints/09/ex3_inputs.pt', weights_only=True)\n"
                 "torch.save(served(X), 'checkpoints/09/ex3_predictions.pt')\n"
                 '"""',
                 "NotImplementedError: Calling eval() is not supported yet."),
                # predictions printed, not saved
                ('deploy_script = """\n'
                 "import torch\n"
                 "served = torch.export.load('checkpoints/09/ex3_program.pt2').module()\n"
                 "X = torch.load('checkpoints/09/ex3_inputs.pt', weights_only=True)\n"
                 "print(served(X))\n"
                 '"""',
                 "the script saved nothing"),
                ('deploy_script = """\n'
                 "import torch\n"
                 "served = torch.export.load('checkpoints/09/ex3_program.pt2').module()\n"
                 "X = torch.load('checkpoints/09/ex3_inputs.pt', weights_only=True)\n"
                 "torch.save({'predictions': served(X)}, 'checkpoints/09/ex3_predictions.pt')\n"
                 '"""',
                 "the predictions file holds a dict"),
            ],
            "right": [
                'deploy_script = f"""\n'
                "from pathlib import Path\n"
                "import torch\n"
                "\n"
                "program = torch.export.load(Path({str(ex3_program_path)!r}))\n"
                "inputs = torch.load({str(ex3_inputs_path)!r}, map_location='cpu', weights_only=True)\n"
                "with torch.no_grad():\n"
                "    out = program.module()(inputs)\n"
                "torch.save(out.detach(), {str(ex3_predictions_path)!r})\n"
                '"""',
                "deploy_script = '''\n"
                "import torch\n"
                "with open('checkpoints/09/ex3_program.pt2', 'rb') as f:\n"
                "    served = torch.export.load(f).module()\n"
                "inputs = torch.load('checkpoints/09/ex3_inputs.pt', weights_only=True)\n"
                "predictions = served(inputs)\n"
                "torch.save(predictions, 'checkpoints/09/ex3_predictions.pt')\n"
                "'''",
            ],
        },
    },
    "10_beyond_one_machine.ipynb": {
        1: {
            "wrong": [
                ("model = Net()\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
                 "dcp.load({}, checkpoint_id=dcp_dir)\n"
                 "return model, optimizer",
                 "dcp.load fills, in place, the tensors of the dict you pass it"),
                ("model = Net()\n"
                 "dcp.load({'model': model.state_dict()}, checkpoint_id=dcp_dir)\n"
                 "return model, torch.optim.Adam(model.parameters(), lr=0.01)",
                 "the optimizer has no state"),
                ("model = Net()\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
                 "dcp.load(model.state_dict(), checkpoint_id=dcp_dir)\n"
                 "return model, optimizer",
                 "Missing key in checkpoint state_dict"),
                ("model = Net()\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
                 "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
                 "state = {'model': model_sd, 'optimizer': optimizer_sd}\n"
                 "dcp.load(state, checkpoint_id=step2)\n"
                 "set_state_dict(model, optimizer, model_state_dict=state['model'],\n"
                 "               optim_state_dict=state['optimizer'])\n"
                 "return model, optimizer",
                 "does not hold the weights saved in step1"),
            ],
            "right": [
                "import tempfile\n"
                "full_path = Path(tempfile.mkdtemp()) / 'full.pt'\n"
                "dcp_to_torch_save(dcp_dir, full_path)\n"
                "ckpt = torch.load(full_path, map_location='cpu', weights_only=True)\n"
                "model = Net()\n"
                "model.load_state_dict(ckpt['model'])\n"
                "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
                "optimizer.load_state_dict(ckpt['optimizer'])\n"
                "return model, optimizer",
                "model = Net()\n"
                "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
                "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
                "dcp.load({'model': model_sd, 'optimizer': optimizer_sd}, checkpoint_id=str(dcp_dir))\n"
                "set_state_dict(model, optimizer, model_state_dict=model_sd,\n"
                "               optim_state_dict=optimizer_sd)\n"
                "return (model, optimizer)",
            ],
        },
        2: {
            "wrong": [
                ("dcp_to_torch_save(dcp_dir, path)",
                 "the whole checkpoint that dcp_to_torch_save writes"),
                ("import shutil\n"
                 "shutil.copy(Path(dcp_dir) / '__0_0.distcp', path)",
                 "not by copying a .distcp shard"),
                ("torch.save(Net().state_dict(), path)",
                 "does not hold the weights saved in step1"),
                ("state = {}\n"
                 "dcp.load(state, checkpoint_id=dcp_dir)\n"
                 "torch.save(state, path)",
                 "your file holds the keys []"),
            ],
            "right": [
                "import tempfile\n"
                "full_path = Path(tempfile.mkdtemp()) / 'full.pt'\n"
                "dcp_to_torch_save(dcp_dir, full_path)\n"
                "ckpt = torch.load(full_path, map_location='cpu', weights_only=True)\n"
                "torch.save(ckpt['model'], path)",
            ],
        },
        3: {
            "wrong": [
                ("return (Path(dcp_dir) / '.metadata').is_file()",
                 "a shard file listed in .metadata is missing"),
                ("return any(Path(dcp_dir).glob('*.distcp'))",
                 "without .metadata the save never finished"),
                ("folder = Path(dcp_dir)\n"
                 "metadata = dcp.FileSystemReader(folder).read_metadata()\n"
                 "return all((folder / info.relative_path).is_file()\n"
                 "           for info in metadata.storage_data.values())",
                 "checkpoint_is_complete raised FileNotFoundError"),
                ("folder = Path(dcp_dir)\n"
                 "try:\n"
                 "    metadata = dcp.FileSystemReader(folder).read_metadata()\n"
                 "except Exception:\n"
                 "    return False\n"
                 "return all((folder / info.relative_path).is_file()\n"
                 "           for info in metadata.storage_data.values())",
                 "shorter than the byte ranges .metadata records"),
                ("model = Net()\n"
                 "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
                 "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
                 "try:\n"
                 "    dcp.load({'model': model_sd, 'optimizer': optimizer_sd}, checkpoint_id=dcp_dir)\n"
                 "except Exception:\n"
                 "    return False\n"
                 "return True",
                 "so `except Exception` misses it"),
            ],
            "right": [
                "try:\n"
                "    metadata = dcp.FileSystemReader(dcp_dir).read_metadata()\n"
                "    ends = {}\n"
                "    for info in metadata.storage_data.values():\n"
                "        end = info.offset + info.length\n"
                "        ends[info.relative_path] = max(ends.get(info.relative_path, 0), end)\n"
                "    return all(os.path.getsize(os.path.join(dcp_dir, name)) >= end\n"
                "               for name, end in ends.items())\n"
                "except Exception:\n"
                "    return False",
                "model = Net()\n"
                "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
                "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
                "try:\n"
                "    dcp.load({'model': model_sd, 'optimizer': optimizer_sd}, checkpoint_id=dcp_dir)\n"
                "except (Exception, dcp.CheckpointException):\n"
                "    return False\n"
                "return True",
            ],
        },
    },
}
