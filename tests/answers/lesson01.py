"""Answers a student plausibly writes to the exercises of lesson 01: see tests/answers/__init__.py."""

# Exercise 2's answer is the body of save_and_restore(model, path); the cell then calls it on
# `source` and `ex2_path`.
_EX2_LOAD = ("restored = Net()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "return restored")
_EX3_SETUP = "optimizer = torch.optim.Adam(ex3_model.parameters(), lr=0.01)\n"
_EX3_STEP = ("optimizer.zero_grad()\n"
             "nn.functional.mse_loss(ex3_model(ex3_X), ex3_y).backward()\n"
             "optimizer.step()\n")
_EX3_SAVE = "torch.save(optimizer.state_dict(), ex3_path)"

ANSWERS: dict[int, dict[str, list]] = {
    1: {
        "wrong": [
            ("return len(state_dict)", "you counted the tensors"),
            ("return sum(t.numel() for t in state_dict.values() if t.is_floating_point())",
             "count the integer tensors too"),
            ("return sum(len(t) for t in state_dict.values())",
             "len(tensor) is only the first dimension"),
            ("return sum(t.numel() for name, t in state_dict.items()\n"
             "           if 'running' not in name and 'num_batches' not in name)",
             "count the buffers too"),
            ("return 430", "your function says 430 for every state_dict"),
            ("return sum(p.numel() for p in model.parameters())",
             "your function says 430 for every state_dict"),
            ("return sum(t.nbytes for t in state_dict.values())", "you counted bytes"),
            ("return sum(t.numel() for t in state_dict.values() if t.requires_grad)",
             "requires_grad is False for all of them"),
            ("return torch.tensor([t.numel() for t in state_dict.values()]).sum()",
             "an int (tensor.numel() gives one), not a Tensor"),
            ("total = 0\n"
             "for t in state_dict.values():\n"
             "    if t.dim() > 0:\n"
             "        n = 1\n"
             "        for size in t.shape:\n"
             "            n *= size\n"
             "        total += n\n"
             "return total",
             "holds one number: use tensor.numel(), which counts it"),
        ],
        "right": [
            "total = 0\n"
            "for name in state_dict:\n"
            "    total += state_dict[name].nelement()\n"
            "return total",
            "import math\n"
            "return sum(math.prod(t.shape) for t in state_dict.values())",
            # the student's own helpers named like the kit's change no check's verdict
            "global state_dicts_equal, compare_state_dicts\n"
            "def state_dicts_equal(a, b):\n"
            "    return False\n"
            "def compare_state_dicts(a, b):\n"
            "    return ['everything differs']\n"
            "return sum(t.size().numel() for _, t in state_dict.items())",
        ],
    },
    2: {
        "wrong": [
            ("torch.save(model, path)\n"
             "return torch.load(path, weights_only=False)",
             "it holds a whole pickled model"),
            ("torch.save(model.state_dict(), path)\n"
             "return Net()",
             "never called torch.load"),
            ("torch.save(model.state_dict(), path)\n"
             "restored = Net()\n"
             "restored.load_state_dict(path)\n"
             "return restored",
             "Expected state_dict to be dict-like"),
            ("torch.save(model.state_dict(), path)\n"
             "restored = Net()\n"
             "restored.load_state_dict(model.state_dict())\n"
             "return restored",
             "never called torch.load"),
            ("torch.save(model.state_dict(), path)\n"
             "return copy.deepcopy(model)",
             "never called torch.load"),
            ("torch.save(model.state_dict(), path)\n"
             "loaded = torch.load(path, weights_only=True)\n"
             "restored = Net()\n"
             "restored.load_state_dict(model.state_dict())\n"
             "return restored",
             "load the dictionary that torch.load read from the file"),
            ("torch.save(source.state_dict(), path)\n" + _EX2_LOAD,
             "the file holds the weights of `source`"),
            ("torch.save(model.state_dict(), ex2_path)\n"
             "restored = Net()\n"
             "restored.load_state_dict(torch.load(ex2_path, weights_only=True))\n"
             "return restored",
             "saved nothing at `path`"),
            ("torch.save(model.state_dict(), path)\n"
             "restored = Net()\n"
             "restored.load_state_dict(torch.load(path, weights_only=False))\n"
             "return restored",
             "pass weights_only=True to torch.load explicitly"),
            ("torch.save(model.state_dict(), path)\n"
             "restored = Net()\n"
             "restored.load_state_dict(torch.load(path))\n"
             "return restored",
             "pass weights_only=True to torch.load explicitly"),
            ("torch.save(model.state_dict(), path)\n"
             "model.load_state_dict(torch.load(path, weights_only=True))\n"
             "return model",
             "returned `model` itself"),
            ("torch.save(model.state_dict(), path)\n"
             "restored = ReLUNet()\n"
             "restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "return restored",
             "return a new Net, not a ReLUNet"),
            ("torch.save(model.state_dict(), path)\n"
             "return Net().load_state_dict(torch.load(path, weights_only=True))",
             "return a new Net, not a _IncompatibleKeys"),
        ],
        "right": [
            "with open(path, 'wb') as f:\n"
            "    torch.save(model.state_dict(), f)\n"
            "restored = Net()\n"
            "restored.load_state_dict(torch.load(str(path), map_location='cpu', "
            "weights_only=True))\n"
            "restored.eval()\n"
            "return restored",
            "torch.save(model.state_dict(), path)\n"
            "weights = torch.load(path, map_location=torch.device('cpu'), weights_only=True)\n"
            "new_net = Net()\n"
            "result = new_net.load_state_dict(weights, strict=True)\n"
            "assert not result.missing_keys and not result.unexpected_keys\n"
            "return new_net",
            # the student's own helper named like the kit's changes no check's verdict
            "global state_dicts_equal\n"
            "def state_dicts_equal(a, b):\n"
            "    return False\n"
            "torch.save(model.state_dict(), path)\n" + _EX2_LOAD,
        ],
    },
    3: {
        "wrong": [
            (_EX3_SETUP + _EX3_SAVE, "weights did not change"),
            ("optimizer = torch.optim.SGD(ex3_model.parameters(), lr=0.1)\n" + _EX3_STEP
             + _EX3_SAVE,
             "plain SGD keeps no state"),
            (_EX3_SETUP + _EX3_STEP + "torch.save(optimizer, ex3_path)",
             "not the optimizer object"),
            (_EX3_SETUP + _EX3_STEP + _EX3_STEP + _EX3_SAVE, "took 2 steps: take exactly one"),
            ("optimizer = torch.optim.SGD(ex3_model.parameters(), lr=0.01, momentum=0.9)\n"
             "for epoch in range(3):\n"
             "    optimizer.zero_grad()\n"
             "    nn.functional.mse_loss(ex3_model(ex3_X), ex3_y).backward()\n"
             "    optimizer.step()\n" + _EX3_SAVE,
             "took 3 steps: take exactly one"),
            (_EX3_SETUP + _EX3_SAVE + "\n" + _EX3_STEP, "so save after the step"),
            (_EX3_SETUP + "optimizer.zero_grad()\n"
             "nn.functional.mse_loss(ex3_model(ex3_X), ex3_y, reduction='sum').backward()\n"
             "optimizer.step()\n" + _EX3_SAVE,
             "used the sum of the squared errors"),
            (_EX3_SETUP + "optimizer.zero_grad()\n"
             "nn.functional.l1_loss(ex3_model(ex3_X), ex3_y).backward()\n"
             "optimizer.step()\n" + _EX3_SAVE,
             "used the L1 loss"),
            ("optimizer = torch.optim.RMSprop(ex3_model.parameters(), lr=0.01)\n" + _EX3_STEP
             + _EX3_SAVE,
             "use Adam, or SGD with momentum=0.9"),
            ("optimizer = torch.optim.SGD(ex3_model.parameters(), lr=0.01, momentum=0.5)\n"
             + _EX3_STEP + _EX3_SAVE,
             "momentum=0.9, not 0.5"),
            ("optimizer = torch.optim.Adam(ex3_model.fc1.parameters(), lr=0.01)\n" + _EX3_STEP
             + _EX3_SAVE,
             "does not hold all 4 tensors of ex3_model"),
            ("twin = copy.deepcopy(ex3_model)\n"
             "optimizer = torch.optim.Adam(twin.parameters(), lr=0.01)\n"
             "nn.functional.mse_loss(twin(ex3_X), ex3_y).backward()\n"
             "optimizer.step()\n" + _EX3_SAVE,
             "weights did not change"),
            (_EX3_SETUP + "optimizer.zero_grad()\n"
             "nn.functional.mse_loss(ex3_model(torch.randn(16, 10)), ex3_y).backward()\n"
             "optimizer.step()\n" + _EX3_SAVE,
             "are not those of one step"),
            (_EX3_SETUP + _EX3_STEP + "torch.save(ex3_model.state_dict(), ex3_path)",
             "you saved a model's state_dict"),
        ],
        "right": [
            "ex3_path.parent.mkdir(exist_ok=True)\n"
            "opt = torch.optim.Adam(ex3_model.parameters(), lr=0.1)\n"
            "loss = ((ex3_model(ex3_X) - ex3_y) ** 2).mean()\n"
            "opt.zero_grad()\n"
            "loss.backward()\n"
            "opt.step()\n"
            "torch.save(opt.state_dict(), str(ex3_path))",
            "loss_fn = nn.MSELoss()\n"
            "optimizer = torch.optim.SGD(ex3_model.parameters(), lr=0.1, momentum=0.9,\n"
            "                            weight_decay=1e-4)\n"
            "loss = loss_fn(ex3_model(ex3_X), ex3_y)\n"
            "loss.backward()\n"
            "optimizer.step()\n"
            "with open(ex3_path, 'wb') as f:\n"
            "    torch.save(optimizer.state_dict(), f)",
            "def state_dicts_equal(a, b):\n"
            "    return True\n"
            "optimizer = torch.optim.Adam(ex3_model.parameters(), betas=(0.8, 0.99))\n"
            + _EX3_STEP + _EX3_SAVE,
        ],
    },
}
