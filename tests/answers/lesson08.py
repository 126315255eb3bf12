"""Answers a student plausibly writes to the exercises of lesson 08: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
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
            # memory first, then a copy: the weights are not the file's mapped tensors
            ("with torch.device('meta'):\n"
             "    net = model_class()\n"
             "net.to_empty(device='cpu')\n"
             "ckpt = torch.load(path, mmap=True, map_location='cpu', weights_only=True)\n"
             "net.load_state_dict(ckpt['model'])\n"
             "adam = torch.optim.Adam(net.parameters(), lr=0.5)\n"
             "adam.load_state_dict(ckpt['optimizer'])\n"
             "return (net, adam)",
             "hold copies in memory the model allocated"),
            # assigned, but from a file read into memory
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "ckpt = torch.load(path, weights_only=True)\n"
             "model.load_state_dict(ckpt['model'], assign=True)\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "read the whole file into memory"),
            # the kit's helper maps only big files unless asked
            ("model = load_weights(model_class, path)\n"
             "optimizer = torch.optim.Adam(model.parameters())\n"
             "optimizer.load_state_dict(load_checkpoint(path)['optimizer'])\n"
             "return model, optimizer",
             "unless you pass mmap=True"),
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "ckpt = torch.load(path, mmap=True, weights_only=False)\n"
             "model.load_state_dict(ckpt['model'], assign=True)\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "loaded with weights_only=False"),
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "ckpt = torch.load(path, mmap=True)\n"
             "model.load_state_dict(ckpt['model'], assign=True)\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "without weights_only=True"),
            # ready to train on, not to predict
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "ckpt = torch.load(path, mmap=True, weights_only=True)\n"
             "model.load_state_dict(ckpt['model'], assign=True)\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model.eval(), optimizer",
             "in training mode"),
            # a second model, built to read its class's settings
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "    template = model_class()\n"
             "ckpt = torch.load(path, mmap=True, weights_only=True)\n"
             "model.load_state_dict(ckpt['model'], assign=True)\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "model_class() was called 2 times"),
        ],
        "right": [
            "model = load_weights(model_class, path, mmap=True)\n"
            "optimizer = torch.optim.Adam(model.parameters())\n"
            "optimizer.load_state_dict(load_checkpoint(path)['optimizer'])\n"
            "return model, optimizer",
            "with torch.device('meta'):\n"
            "    net = model_class()\n"
            "ckpt = torch.load(str(path), map_location='cpu', mmap=True, weights_only=True)\n"
            "report = net.load_state_dict(ckpt['model'], strict=True, assign=True)\n"
            "assert not report.missing_keys and not report.unexpected_keys\n"
            "adam = torch.optim.Adam(net.parameters(), lr=0.5)\n"
            "adam.load_state_dict(ckpt['optimizer'])\n"
            "return (net, adam)",
            "ckpt = load_checkpoint(path, mmap=True)\n"
            "with torch.device('meta'):\n"
            "    model = model_class()\n"
            "model.load_state_dict(ckpt['model'], assign=True)\n"
            "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
            "optimizer.load_state_dict(ckpt['optimizer'])\n"
            "return model.train(), optimizer",
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
            # load_file maps the file: its slice is a view too
            ("return load_file(path)[name][start:stop]",
             "your rows are a view"),
            ("with safe_open(path, framework='pt') as f:\n"
             "    return f.get_tensor(name)[start:stop].contiguous()",
             "your rows are a view"),
            # the whole tensor, read into memory, then the rows
            ("with safe_open(path, framework='pt') as f:\n"
             "    return f.get_tensor(name).clone()[start:stop].clone()",
             "raised this process's peak memory"),
            ("with safe_open(path, framework='pt') as f:\n"
             "    return f.get_slice(name)[start:stop].double()",
             "keep the file's dtype"),
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
            # get_tensor maps too: only the rows' pages are read
            "with safe_open(str(path), framework='pt', device='cpu') as f:\n"
            "    table = f.get_tensor(name)\n"
            "    return table[start:stop].clone()",
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
             "read the whole file into memory"),
            # the same with the file mapped: still copies, and the unsaved buffers are garbage
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "model.to_empty(device='cpu')\n"
             "model.load_state_dict(torch.load(path, mmap=True, weights_only=True))\n"
             "return model",
             "to_empty"),
            # the check is right, the load is not
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "model.load_state_dict(torch.load(path, mmap=True, weights_only=True))\n"
             "left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]\n"
             "if left:\n"
             "    raise ValueError(f'still on meta: {left}')\n"
             "return model",
             "did the load really fill it"),
            # names the first only
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "model.load_state_dict(torch.load(path, mmap=True, weights_only=True), assign=True)\n"
             "for name, t in [*model.named_parameters(), *model.named_buffers()]:\n"
             "    if t.is_meta:\n"
             "        raise ValueError(f'{name} is still on meta')\n"
             "return model",
             "does not name layers.0.mask"),
            # only the model's own buffers, not its submodules'
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "model.load_state_dict(torch.load(path, mmap=True, weights_only=True), assign=True)\n"
             "left = [n for n, t in [*model.named_parameters(),\n"
             "                       *model.named_buffers(recurse=False)] if t.is_meta]\n"
             "if left:\n"
             "    raise ValueError(f'still on meta: {left}')\n"
             "return model",
             "does not name layers.0.mask"),
            # not the snippet's fast path: the file is read into memory
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "model.load_state_dict(torch.load(path, weights_only=True), assign=True)\n"
             "left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]\n"
             "if left:\n"
             "    raise ValueError(f'still on meta: {left}')\n"
             "return model",
             "read the whole file into memory"),
            ("with torch.device('meta'):\n"
             "    model = model_class()\n"
             "model.load_state_dict(torch.load(path, mmap=True, weights_only=False), assign=True)\n"
             "left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]\n"
             "if left:\n"
             "    raise ValueError(f'still on meta: {left}')\n"
             "return model",
             "loaded with weights_only=False"),
        ],
        "right": [
            "try:\n"
            "    return load_weights(model_class, path, mmap=True)\n"
            "except CheckpointMismatchError as error:\n"
            "    raise ValueError(str(error)) from error",
            "import itertools\n"
            "with torch.device('meta'):\n"
            "    net = model_class()\n"
            "state = torch.load(path, map_location='cpu', mmap=True, weights_only=True)\n"
            "net.load_state_dict(state, assign=True)\n"
            "missing = [name for name, tensor in itertools.chain(net.named_parameters(),\n"
            "                                                    net.named_buffers())\n"
            "           if tensor.device.type == 'meta']\n"
            "if missing:\n"
            "    raise ValueError('no values for ' + ', '.join(missing))\n"
            "return net",
        ],
    },
}
