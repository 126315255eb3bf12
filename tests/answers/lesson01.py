"""Answers a student plausibly writes to the exercises of lesson 01: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
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
}
