"""Answers a student plausibly writes to the exercises of lesson 09: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
    1: {
        "wrong": [
            # no dynamic_shapes: every dimension is fixed to the example's size
            ("torch.export.save(torch.export.export(ex1_model, (torch.randn(4, 10),)), ex1_path)",
             "refuses a batch of 1 row"),
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
            # a `max` on the Dim: big batches are refused
            ("ex1_program = torch.export.export(ex1_model, (torch.randn(4, 10),),\n"
             "                                  dynamic_shapes={'x': {0: Dim('batch', max=64)}})\n"
             "torch.export.save(ex1_program, ex1_path)",
             "the Dim's `max` caps the batch size"),
            # TorchScript: deprecated, and not an exported program
            ("import warnings\n"
             "with warnings.catch_warnings():\n"
             "    warnings.simplefilter('ignore')\n"
             "    torch.jit.save(torch.jit.script(ex1_model), str(ex1_path))",
             "TorchScript is deprecated"),
            # saved to another file than ex1_path
            ("ex1_program = torch.export.export(ex1_model, (torch.randn(4, 10),),\n"
             "                                  dynamic_shapes={'x': {0: Dim('batch')}})\n"
             "torch.export.save(ex1_program, ckpt_dir / 'relunet.pt2')",
             "nothing was saved at ex1_path"),
            # trained before exporting: not the model it was given
            ("sgd = torch.optim.SGD(ex1_model.parameters(), lr=0.1)\n"
             "train(ex1_model, make_loaders()[0], sgd, epochs=1, progress=False)\n"
             "ex1_program = torch.export.export(ex1_model.eval(), (torch.randn(4, 10),),\n"
             "                                  dynamic_shapes={'x': {0: Dim('batch')}})\n"
             "torch.export.save(ex1_program, ex1_path)",
             "ex1_model's weights changed"),
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
            # Dim.AUTO with an example of 2 rows or more: the batch stays dynamic
            "program = torch.export.export(ex1_model, (torch.ones(5, 10),),\n"
            "                              dynamic_shapes=[{0: Dim.AUTO}])\n"
            "torch.export.save(program, ex1_path.as_posix())",
            "x = torch.randn(2, 10)\n"
            "torch.export.save(torch.export.export(copy.deepcopy(ex1_model), (x,),\n"
            "                                      dynamic_shapes={'x': {0: Dim('n', min=1)}}),\n"
            "                  ex1_path)",
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
            # the flag of the top module only: Dropout and BatchNorm stay in training mode
            ("model.training = False\n"
             "torch.export.save(torch.export.export(model, (example,)), path)",
             "changes the flag of the model alone"),
            # Dropout switched off, BatchNorm still in training mode
            ("model.drop.eval()\n"
             "torch.export.save(torch.export.export(model, (example,)), path)",
             "BatchNorm was exported in training mode"),
            ("model.bn.eval()\n"
             "torch.export.save(torch.export.export(model, (example,)), path)",
             "Some of the model's layers are in eval mode, not all"),
            # a warm-up pass in training mode moves BatchNorm's running statistics
            ("model(example)\n"
             "model.eval()\n"
             "torch.export.save(torch.export.export(model, (example,)), path)",
             "changed the model's weights or BatchNorm statistics"),
            # a new, untrained model
            ("torch.export.save(torch.export.export(ServeNet().eval(), (example,)), path)",
             "does not predict what `model` predicts in eval mode"),
            # pickled, not exported to a .pt2 archive
            ("torch.save(torch.export.export(model.eval(), (example,)), path)",
             "torch.save pickles it instead"),
        ],
        "right": [
            "serving_model = copy.deepcopy(model).eval()   # the caller's model keeps its mode\n"
            "ep = torch.export.export(serving_model, args=(example,))\n"
            "torch.export.save(ep, str(path))",
            "model.train(False)\n"
            "ep = torch.export.export(model, (example,), dynamic_shapes={'x': {0: Dim('batch')}})\n"
            "with open(path, 'wb') as f:\n"
            "    torch.export.save(ep, f)",
            # the caller's model gets its mode back
            "was_training = model.training\n"
            "model.eval()\n"
            "try:\n"
            "    program = torch.export.export(model, (example,))\n"
            "finally:\n"
            "    model.train(was_training)\n"
            "torch.export.save(program, path)",
            "with torch.no_grad():\n"
            "    torch.export.save(torch.export.export(model.eval(), args=(example.clone(),)),\n"
            "                      Path(path))",
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
            # the inputs loaded without weights_only=True
            ('deploy_script = """\n'
             "import torch\n"
             "served = torch.export.load('checkpoints/09/ex3_program.pt2').module()\n"
             "X = torch.load('checkpoints/09/ex3_inputs.pt', weights_only=False)\n"
             "torch.save(served(X), 'checkpoints/09/ex3_predictions.pt')\n"
             '"""',
             "loads the inputs with weights_only=False"),
            ('deploy_script = """\n'
             "import torch\n"
             "served = torch.export.load('checkpoints/09/ex3_program.pt2').module()\n"
             "X = torch.load('checkpoints/09/ex3_inputs.pt')\n"
             "torch.save(served(X), 'checkpoints/09/ex3_predictions.pt')\n"
             '"""',
             "loads the inputs without weights_only=True"),
            # the notebook's variables do not exist where the script runs
            ('deploy_script = """\n'
             "import torch\n"
             "served = torch.export.load(ex3_program_path).module()\n"
             "X = torch.load(ex3_inputs_path, weights_only=True)\n"
             "torch.save(served(X), ex3_predictions_path)\n"
             '"""',
             "NameError: name 'ex3_program_path' is not defined"),
            # a numpy array is not what weights_only=True loads
            ('deploy_script = """\n'
             "import torch\n"
             "served = torch.export.load('checkpoints/09/ex3_program.pt2').module()\n"
             "X = torch.load('checkpoints/09/ex3_inputs.pt', weights_only=True)\n"
             "torch.save(served(X).detach().numpy(), 'checkpoints/09/ex3_predictions.pt')\n"
             '"""',
             "refuses the predictions file"),
            # the first rows only, as in the cell's own try-out
            ('deploy_script = """\n'
             "import torch\n"
             "served = torch.export.load('checkpoints/09/ex3_program.pt2').module()\n"
             "X = torch.load('checkpoints/09/ex3_inputs.pt', weights_only=True)\n"
             "torch.save(served(X[:5]), 'checkpoints/09/ex3_predictions.pt')\n"
             '"""',
             "not the program's predictions for the inputs"),
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
            'deploy_script = """\n'
            "from pathlib import Path\n"
            "from torch import load, save\n"
            "from torch.export import load as load_program\n"
            "folder = Path('checkpoints') / '09'\n"
            "with open(folder / 'ex3_inputs.pt', 'rb') as f:\n"
            "    X = load(f, weights_only=True)\n"
            "save(load_program(folder / 'ex3_program.pt2').module()(X).detach().clone(),\n"
            "     folder / 'ex3_predictions.pt')\n"
            '"""',
            # the inputs read into memory first: torch.load gets a buffer, not the path
            'deploy_script = """\n'
            "import io\n"
            "import torch\n"
            "with open('checkpoints/09/ex3_inputs.pt', 'rb') as f:\n"
            "    X = torch.load(io.BytesIO(f.read()), weights_only=True)\n"
            "program = torch.export.load('checkpoints/09/ex3_program.pt2')\n"
            "torch.save(program.module()(X), 'checkpoints/09/ex3_predictions.pt')\n"
            '"""',
        ],
    },
}
