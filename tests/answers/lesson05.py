"""Answers a student plausibly writes to the exercises of lesson 05: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
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
            # the dict names the two GPUs of the statement, not the others
            ("return torch.load(path, map_location={'cuda:0': 'cpu', 'cuda:1': 'cpu'},\n"
             "                  weights_only=True)",
             "this file's tag is 'cuda:7'"),
            # the default weights_only, which the environment can turn off
            ("return torch.load(path, map_location='cpu')",
             "Pass weights_only=True explicitly"),
            ("return torch.load(path, map_location='cpu', weights_only=False)",
             "loaded a file with weights_only=False"),
            ("try:\n"
             "    return torch.load(path, map_location='cpu', weights_only=True)\n"
             "except Exception:\n"
             "    return torch.load(path, map_location='cpu', weights_only=False)",
             "loaded it again with weights_only=False"),
            ("import pickle\n"
             "try:\n"
             "    return torch.load(path, map_location='cpu', weights_only=True)\n"
             "except pickle.UnpicklingError:\n"
             "    return None",
             "let torch.load's UnpicklingError through"),
            # the best device of the machine, not the CPU
            ("return torch.load(path, map_location=choose_device(), weights_only=True)",
             "on a machine with a GPU"),
            ("device = 'cuda' if torch.cuda.is_available() else 'cpu'\n"
             "return torch.load(path, map_location=device, weights_only=True)",
             "on a machine with a GPU"),
            ("return torch.load(path, map_location=torch.device('cuda', 0), weights_only=True)",
             "sends the tensors to a device this machine does not have"),
            ("return torch.load(path, map_location='meta', weights_only=True)",
             "came back with tensors on ['meta']"),
            # only part of what the file holds
            ("return torch.load(path, map_location='cpu', weights_only=True)['model']",
             "raised KeyError"),
            ("ckpt = torch.load(path, map_location='cpu', weights_only=True)\n"
             "return {k: v for k, v in ckpt.items() if isinstance(v, torch.Tensor)}",
             "came back changed"),
        ],
        "right": [
            "return torch.load(path, map_location=lambda storage, loc: storage, "
            "weights_only=True)",
            "return torch.load(path, map_location='cpu', weights_only=True)",
            "return torch.load(path, map_location=lambda storage, loc: storage.cpu(),\n"
            "                  weights_only=True, mmap=True)",
            "import io\n"
            "data = io.BytesIO(Path(path).read_bytes())\n"
            "return torch.load(data, map_location=torch.device('cpu'), weights_only=True)",
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
            # the first occurrence, wherever it is
            ("return {k.replace('module.', '', 1).replace('_orig_mod.', '', 1): v\n"
             "        for k, v in state_dict.items()}",
             "text_module.weight' into 'text_weight'"),
            ("import re\n"
             "return {re.sub(r'(module|_orig_mod)\\.', '', k): v for k, v in state_dict.items()}",
             "only the prefix at the start of a key goes"),
            # the first part of every key, prefix or not
            ("return {k.split('.', 1)[1]: v for k, v in state_dict.items()}",
             "turned 'fc2.weight' into 'weight'"),
            ("return {k[len('module.'):]: v for k, v in state_dict.items()}",
             "turned '_orig_mod.fc1.weight' into 'od.fc1.weight'"),
            # nothing to remove: the same dict back
            ("if not any(k.startswith(('module.', '_orig_mod.')) for k in state_dict):\n"
             "    return state_dict\n"
             "return {k.removeprefix('module.').removeprefix('_orig_mod.'): v\n"
             "        for k, v in state_dict.items()}",
             "return a new dict, even when there is nothing to remove"),
            ("for key in list(state_dict):\n"
             "    new = key.removeprefix('module.').removeprefix('_orig_mod.')\n"
             "    state_dict[new] = state_dict.pop(key)\n"
             "return dict(state_dict)",
             "changed the dict it was given"),
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
            "import copy\n"
            "cleaned = copy.deepcopy(state_dict)\n"
            "for prefix in ('module.', '_orig_mod.'):\n"
            "    consume_prefix_in_state_dict_if_present(cleaned, prefix)\n"
            "return cleaned",
            "import re\n"
            "return OrderedDict((re.sub(r'^(module|_orig_mod)\\.', '', k), v)\n"
            "                   for k, v in state_dict.items())",
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
             "model.to(device=device, dtype=dtype)"),
            ("model = Net().to(device=device, dtype=dtype)\n"
             "optimizer = torch.optim.Adam(model.parameters())\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "does not hold the checkpoint's weights"),
            # the optimizer built before the move: works only while `to` keeps the parameters
            ("model = Net()\n"
             "optimizer = torch.optim.Adam(model.parameters())\n"
             "model.to(device=device, dtype=dtype)\n"
             "model.load_state_dict(ckpt['model'])\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "you built the optimizer before model.to(...)"),
            # the device argument ignored, or replaced by one of the answer's choosing
            ("model = Net().to(dtype=dtype)\n"
             "model.load_state_dict(ckpt['model'])\n"
             "optimizer = torch.optim.Adam(model.parameters())\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "move the model to `device`, the argument"),
            ("model = Net().to('cpu', dtype)\n"
             "model.load_state_dict(ckpt['model'])\n"
             "optimizer = torch.optim.Adam(model.parameters())\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "asked for torch.float64 on meta"),
            ("model = Net().to(choose_device(), dtype)\n"
             "model.load_state_dict(ckpt['model'])\n"
             "optimizer = torch.optim.Adam(model.parameters())\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "move the model to `device`, the argument"),
            ("model = Net().to('cuda', dtype)\n"
             "model.load_state_dict(ckpt['model'])\n"
             "optimizer = torch.optim.Adam(model.parameters())\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "You moved something to CUDA"),
            ("model = Net().to(device)\n"
             "model.load_state_dict(ckpt['model'])\n"
             "optimizer = torch.optim.Adam(model.parameters())\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "move the model to `dtype` too"),
            ("model = Net().to(device=device, dtype=dtype)\n"
             "model.load_state_dict(ckpt['model'])\n"
             "optimizer = torch.optim.Adam(model.parameters())\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return optimizer, model",
             "return model, optimizer in that order"),
            ("model = Net().to(device=device, dtype=dtype)\n"
             "model.load_state_dict(ckpt['model'])\n"
             "optimizer = torch.optim.AdamW(model.parameters())\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "return model, optimizer",
             "build torch.optim.Adam"),
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
            "model = Net().to(device=device, dtype=dtype)\n"
            "weights = {k: v.to(device=device, dtype=dtype) for k, v in ckpt['model'].items()}\n"
            "model.load_state_dict(weights, assign=True)\n"
            "optimizer = torch.optim.Adam(model.parameters(), lr=123.0, betas=(0.5, 0.5))\n"
            "optimizer.load_state_dict(ckpt['optimizer'])\n"
            "return model, optimizer",
        ],
    },
}
