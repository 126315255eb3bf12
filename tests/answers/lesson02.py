"""Answers a student plausibly writes to the exercises of lesson 02: see tests/answers/__init__.py."""

# Exercise 2's answer is the body of train_new_model(); the cell then calls it.
_EX2_MOMENTUM = ("new_model = Net()\n"
                 "optimizer = torch.optim.SGD(new_model.parameters(), lr=0.01, momentum=0.9)\n")
# Exercise 3's answer saves the weights, then defines load_for_inference(path).
_EX3_SAVE = "torch.save(model.state_dict(), ex3_path)\n\n"

ANSWERS: dict[int, dict[str, list]] = {
    1: {
        "wrong": [
            ("with torch.no_grad():\n"
             "    return model(X)",
             "call model.eval(), with the parentheses"),
            ("model.eval()\n"
             "return model(X)",
             "autograd recorded your predictions"),
            ("model.eval\n"
             "with torch.inference_mode():\n"
             "    return model(X)",
             "call model.eval(), with the parentheses"),
            # the example: detaching does not stop autograd; the mode is not restored
            ("model.eval()\n"
             "return model(X).detach()",
             "you detached the result afterwards"),
            ("model.eval()\n"
             "with torch.inference_mode():\n"
             "    return model(X)",
             "predict left the model in eval mode though it was in training mode"),
            ("model.eval()\n"
             "with torch.inference_mode():\n"
             "    out = model(X)\n"
             "model.train()\n"
             "return out",
             "predict left the model in training mode though it was in eval mode"),
            ("was_training = model.training\n"
             "model.training = False\n"
             "with torch.no_grad():\n"
             "    out = model(X)\n"
             "model.training = was_training\n"
             "return out",
             "that switches the model object only"),
            ("was_training = model.training\n"
             "model.eval()\n"
             "with torch.no_grad():\n"
             "    out = model(X)\n"
             "model.training = was_training\n"
             "return out",
             "setting model.training does not reach the layers"),
            ("was_training = model.training\n"
             "model.eval()\n"
             "torch.set_grad_enabled(False)\n"
             "out = model(X)\n"
             "model.train(was_training)\n"
             "return out",
             "predict left autograd switched off"),
            ("model(X)\n"
             "was_training = model.training\n"
             "model.eval()\n"
             "with torch.no_grad():\n"
             "    out = model(X)\n"
             "model.train(was_training)\n"
             "return out",
             "the forward pass ran in training mode"),
            ("was_training = model.training\n"
             "model.eval()\n"
             "with torch.no_grad():\n"
             "    out = model(X[:8])\n"
             "model.train(was_training)\n"
             "return out",
             "a tensor of shape (len(X), 10)"),
        ],
        "right": [
            "was_training = model.training\n"
            "model.train(False)\n"
            "with torch.no_grad():\n"
            "    out = model(X)\n"
            "model.train(was_training)\n"
            "return out",
            "mode = model.training\n"
            "try:\n"
            "    with torch.inference_mode():\n"
            "        return model.eval()(X)\n"
            "finally:\n"
            "    model.train(mode)",
            # the student's own helpers named like the kit's change no check's verdict
            "global evaluate, state_dicts_equal\n"
            "def evaluate(model, loader, loss_fn=None):\n"
            "    return 0.0\n"
            "def state_dicts_equal(a, b):\n"
            "    return False\n"
            "was_training = model.training\n"
            "model.eval()\n"
            "with torch.inference_mode():\n"
            "    predictions = model(X)\n"
            "model.train(was_training)\n"
            "return predictions",
        ],
    },
    2: {
        "wrong": [
            ("new_model = Net()\n"
             "optimizer = torch.optim.SGD(new_model.parameters(), lr=0.01)\n"
             "return new_model, train(new_model, train_loader, optimizer, 30, progress=False)",
             "is not below 0.05"),
            ("new_model = Net()\n"
             "optimizer = torch.optim.SGD(new_model.parameters(), lr=0.01)\n"
             "return new_model, train(new_model, train_loader, optimizer, 100, progress=False)",
             "at most 30 are allowed"),
            ("return momentum_model, {'train': [0.03] * 14}",
             "train a new model"),
            # trained 40 epochs in two calls; the history returned holds the last 20
            (_EX2_MOMENTUM
             + "train(new_model, train_loader, optimizer, 20, progress=False)\n"
             "return new_model, train(new_model, train_loader, optimizer, 20, progress=False)",
             "your model trained 40 epochs"),
            (_EX2_MOMENTUM
             + "train(new_model, train_loader, optimizer, 10, progress=False)\n"
             "return new_model, train(new_model, train_loader, optimizer, 10, progress=False)",
             "the history you return holds 10"),
            ("new_model = copy.deepcopy(momentum_model)\n"
             "optimizer = torch.optim.SGD(new_model.parameters(), lr=0.01, momentum=0.9)\n"
             "return new_model, train(new_model, train_loader, optimizer, 1, progress=False)",
             "train a new model"),
            ("new_model = Net()\n"
             "new_model.load_state_dict(momentum_model.state_dict())\n"
             "optimizer = torch.optim.SGD(new_model.parameters(), lr=0.01, momentum=0.9)\n"
             "return new_model, train(new_model, train_loader, optimizer, 1, progress=False)",
             "load no trained weights into it"),
            (_EX2_MOMENTUM
             + "return new_model, train(new_model, val_loader, optimizer, 30, progress=False)",
             "never went through train_loader"),
            (_EX2_MOMENTUM
             + "history = train(new_model, train_loader, optimizer, 14, progress=False)\n"
             "return new_model, history['train']",
             "return the history that train() returns, a dict with a 'train' list, not a list"),
            (_EX2_MOMENTUM
             + "train(new_model, train_loader, optimizer, 14, progress=False)\n"
             "return new_model",
             "cannot unpack non-iterable Net object"),
            ("new_model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))\n"
             "optimizer = torch.optim.Adam(new_model.parameters(), lr=0.01)\n"
             "return new_model, train(new_model, train_loader, optimizer, 20, progress=False)",
             "must be a Net() or a ReLUNet()"),
        ],
        "right": [
            "new_model = ReLUNet()\n"
            "opt = torch.optim.Adam(new_model.parameters(), lr=0.01)\n"
            "history = train(new_model, train_loader, opt, epochs=30, val_loader=val_loader)\n"
            "return new_model, history",
            "net = Net()\n"
            "return net, train(net, train_loader, torch.optim.SGD(net.parameters(), lr=0.1), 20)",
            "new_model = Net()\n"
            "new_model.to(device)\n"
            "opt = torch.optim.Adam(new_model.parameters(), lr=0.02)\n"
            "history = train(new_model, train_loader, opt, 12, loss_fn=nn.MSELoss(),\n"
            "                progress=False)\n"
            "return (new_model, history)",
        ],
    },
    3: {
        "wrong": [
            ("torch.save(model, ex3_path)\n"
             "\n"
             "def load_for_inference(path):\n"
             "    return torch.load(path, weights_only=False).eval()",
             "it holds a whole pickled model"),
            (_EX3_SAVE + "def load_for_inference(path):\n"
             "    restored = Net()\n"
             "    restored.load_state_dict(torch.load(path, map_location='cpu', "
             "weights_only=True))\n"
             "    return restored",
             "is in training mode"),
            (_EX3_SAVE + "def load_for_inference(path):\n"
             "    return Net().eval()",
             "never read the file `path`"),
            (_EX3_SAVE + "def load_for_inference(path):\n"
             "    restored = ReLUNet()\n"
             "    restored.load_state_dict(torch.load(path, map_location='cpu', "
             "weights_only=True))\n"
             "    return restored.eval()",
             "build the class that was saved, a Net, not a ReLUNet"),
            ("torch.save(Net().state_dict(), ex3_path)\n"
             "\n"
             "def load_for_inference(path):\n"
             "    restored = Net()\n"
             "    restored.load_state_dict(torch.load(path, map_location='cpu', "
             "weights_only=True))\n"
             "    return restored.eval()",
             "does not hold the trained weights"),
            (_EX3_SAVE + "def load_for_inference(path):\n"
             "    return model.eval()",
             "never read the file `path`"),
            (_EX3_SAVE + "def load_for_inference(path):\n"
             "    restored = Net()\n"
             "    restored.load_state_dict(torch.load(ex3_path, map_location='cpu', "
             "weights_only=True))\n"
             "    return restored.eval()",
             "ignores `path`"),
            (_EX3_SAVE + "def load_for_inference(path):\n"
             "    restored = Net()\n"
             "    restored.load_state_dict(torch.load(path, map_location='cpu', "
             "weights_only=False))\n"
             "    return restored.eval()",
             "pass weights_only=True to torch.load explicitly"),
            (_EX3_SAVE + "def load_for_inference(path):\n"
             "    restored = Net()\n"
             "    restored.load_state_dict(torch.load(path, map_location='cpu'))\n"
             "    return restored.eval()",
             "pass weights_only=True to torch.load explicitly"),
            (_EX3_SAVE + "restored = Net()\n"
             "\n"
             "def load_for_inference(path):\n"
             "    restored.load_state_dict(torch.load(path, map_location='cpu', "
             "weights_only=True))\n"
             "    return restored.eval()",
             "returns the same model object each time"),
            (_EX3_SAVE + "def load_for_inference(path):\n"
             "    restored = Net()\n"
             "    restored.load_state_dict(torch.load(path, map_location='cpu', "
             "weights_only=True))\n"
             "    restored.training = False\n"
             "    return restored",
             "its layers are not"),
            (_EX3_SAVE + "def load_for_inference(path):\n"
             "    restored = Net()\n"
             "    restored.load_state_dict(torch.load(path, weights_only=True))\n"
             "    return restored.eval()",
             "pass map_location='cpu' to torch.load"),
            ("torch.save(model.state_dict(), 'ex3_net.pt')\n"
             "\n"
             "def load_for_inference(path):\n"
             "    restored = Net()\n"
             "    restored.load_state_dict(torch.load(path, map_location='cpu', "
             "weights_only=True))\n"
             "    return restored.eval()",
             "nothing was saved at ex3_path"),
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
            "with open(ex3_path, 'wb') as f:\n"
            "    torch.save(model.state_dict(), f)\n"
            "\n"
            "def load_for_inference(path):\n"
            "    with open(path, 'rb') as f:\n"
            "        state = torch.load(f, map_location=lambda storage, loc: storage,\n"
            "                           weights_only=True)\n"
            "    restored = Net().eval()\n"
            "    restored.load_state_dict(state, strict=True)\n"
            "    return restored",
            # the student's own helper named like the kit's changes no check's verdict
            "def state_dicts_equal(a, b):\n"
            "    return False\n"
            "\n"
            + _EX3_SAVE + "def load_for_inference(path):\n"
            "    restored = Net()\n"
            "    restored.load_state_dict(torch.load(path, map_location='cpu', "
            "weights_only=True))\n"
            "    return restored.eval()",
        ],
    },
}
