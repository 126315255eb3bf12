"""Answers a student plausibly writes to the exercises of lesson 02: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
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
}
