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
}
