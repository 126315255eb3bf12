"""Answers a student plausibly writes to the exercises of lesson 09: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
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
}
