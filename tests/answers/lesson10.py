"""Answers a student plausibly writes to the exercises of lesson 10: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
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
            # no set_state_dict: the tensors are filled through the shared dicts, the
            # hyperparameters (a lowered learning rate) are not
            ("model = Net()\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
             "dcp.load({'model': model_sd, 'optimizer': optimizer_sd}, checkpoint_id=dcp_dir)\n"
             "return model, optimizer",
             "not the 0.005 saved in the check's own checkpoint"),
            # the model loaded, the optimizer's dict filled but never put into the optimizer
            ("model = Net()\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
             "state = {'model': model_sd, 'optimizer': optimizer_sd}\n"
             "dcp.load(state, checkpoint_id=dcp_dir)\n"
             "model.load_state_dict(state['model'])\n"
             "return model, optimizer",
             "dcp.load filled the dicts you passed it, not the optimizer"),
            # the full copy the lesson's job gathered beside its folders: not the checkpoint
            ("full = torch.load(Path(dcp_dir).parent / f'full_{Path(dcp_dir).name}.pt',\n"
             "                  weights_only=True)\n"
             "model = Net()\n"
             "model.load_state_dict(full['model'])\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "optimizer.load_state_dict(full['optimizer'])\n"
             "return model, optimizer",
             "for the check's own checkpoint raised FileNotFoundError"),
            # another optimizer than the statement's
            ("model = Net()\n"
             "optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)\n"
             "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
             "state = {'model': model_sd, 'optimizer': optimizer_sd}\n"
             "dcp.load(state, checkpoint_id=dcp_dir)\n"
             "set_state_dict(model, optimizer, model_state_dict=state['model'],\n"
             "               optim_state_dict=state['optimizer'])\n"
             "return model, optimizer",
             "return a torch.optim.Adam as the optimizer, not AdamW"),
            # an optimizer of other parameters than the returned model's
            ("import tempfile\n"
             "full_path = Path(tempfile.mkdtemp()) / 'full.pt'\n"
             "dcp_to_torch_save(dcp_dir, full_path)\n"
             "ckpt = torch.load(full_path, weights_only=True)\n"
             "trained = Net()\n"
             "optimizer = torch.optim.Adam(trained.parameters(), lr=0.01)\n"
             "optimizer.load_state_dict(ckpt['optimizer'])\n"
             "model = Net()\n"
             "model.load_state_dict(ckpt['model'])\n"
             "return model, optimizer",
             "the optimizer does not train every parameter of the model you return"),
            ("model = Net()\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
             "state = {'model': model_sd, 'optimizer': optimizer_sd}\n"
             "dcp.load(state, checkpoint_id=dcp_dir)\n"
             "set_state_dict(model, optimizer, model_state_dict=state['model'],\n"
             "               optim_state_dict=state['optimizer'])\n"
             "return [model, optimizer]",
             "return the tuple (model, optimizer)"),
            # the notebook's `model`, not a Net of its own
            ("optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
             "state = {'model': model_sd, 'optimizer': optimizer_sd}\n"
             "dcp.load(state, checkpoint_id=dcp_dir)\n"
             "set_state_dict(model, optimizer, model_state_dict=state['model'],\n"
             "               optim_state_dict=state['optimizer'])\n"
             "return model, optimizer",
             "load_on_one_process uses the notebook's `model`"),
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
            # the filled dicts put back with the plain load_state_dict calls: the optimizer's
            # state is keyed by name, and load_state_dict matches parameters by position
            "model = Net()\n"
            "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
            "model_sd, optimizer_sd = get_state_dict(model, optimizer)\n"
            "state = {'model': model_sd, 'optimizer': optimizer_sd}\n"
            "dcp.load(state, checkpoint_id=Path(dcp_dir))\n"
            "model.load_state_dict(state['model'])\n"
            "optimizer.load_state_dict(state['optimizer'])\n"
            "return model, optimizer",
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
            # the whole model pickled: weights_only=True refuses it
            ("model = Net()\n"
             "dcp.load({'model': model.state_dict()}, checkpoint_id=dcp_dir)\n"
             "torch.save(model, path)",
             "it holds objects that are not tensors (a whole model?)"),
            # halved to save space: not the saved weights
            ("model = Net()\n"
             "dcp.load({'model': model.state_dict()}, checkpoint_id=dcp_dir)\n"
             "torch.save(model.half().state_dict(), path)",
             "your file's values are torch.float16"),
            # the full copy the lesson's job gathered beside its folders: not the checkpoint
            ("full = torch.load(Path(dcp_dir).parent / f'full_{Path(dcp_dir).name}.pt',\n"
             "                  weights_only=True)\n"
             "torch.save(full['model'], path)",
             "for the check's own checkpoint raised FileNotFoundError"),
            # the keys as DCP names them, with the `model.` prefix
            ("import tempfile\n"
             "full_path = Path(tempfile.mkdtemp()) / 'full.pt'\n"
             "dcp_to_torch_save(dcp_dir, full_path)\n"
             "ckpt = torch.load(full_path, weights_only=True)\n"
             "torch.save({f'model.{k}': v for k, v in ckpt['model'].items()}, path)",
             "your file holds the keys ['model.fc1.bias'"),
            # the notebook's `model`, changed behind its back
            ("dcp.load({'model': model.state_dict()}, checkpoint_id=dcp_dir)\n"
             "torch.save(model.state_dict(), path)",
             "export_weights uses the notebook's `model`"),
        ],
        "right": [
            "import tempfile\n"
            "full_path = Path(tempfile.mkdtemp()) / 'full.pt'\n"
            "dcp_to_torch_save(dcp_dir, full_path)\n"
            "ckpt = torch.load(full_path, map_location='cpu', weights_only=True)\n"
            "torch.save(ckpt['model'], path)",
            "weights = Net().state_dict()\n"
            "dcp.load({'model': weights}, checkpoint_id=str(dcp_dir))\n"
            "torch.save(dict(weights), str(path))",
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
            # each piece's length, not where it ends
            ("folder = Path(dcp_dir)\n"
             "try:\n"
             "    metadata = dcp.FileSystemReader(folder).read_metadata()\n"
             "except Exception:\n"
             "    return False\n"
             "return all((folder / info.relative_path).is_file()\n"
             "           and (folder / info.relative_path).stat().st_size >= info.length\n"
             "           for info in metadata.storage_data.values())",
             "a shard file is shorter than the byte ranges .metadata records"),
            # where each piece starts, not where it ends: a shard one byte short passes
            ("folder = Path(dcp_dir)\n"
             "try:\n"
             "    metadata = dcp.FileSystemReader(folder).read_metadata()\n"
             "except Exception:\n"
             "    return False\n"
             "return all((folder / info.relative_path).is_file()\n"
             "           and (folder / info.relative_path).stat().st_size > info.offset\n"
             "           for info in metadata.storage_data.values())",
             "a shard one byte short your function returned True"),
            # `>`: a complete shard ends exactly where its last piece ends
            ("folder = Path(dcp_dir)\n"
             "try:\n"
             "    metadata = dcp.FileSystemReader(folder).read_metadata()\n"
             "except Exception:\n"
             "    return False\n"
             "return all((folder / info.relative_path).is_file()\n"
             "           and (folder / info.relative_path).stat().st_size > info.offset + info.length\n"
             "           for info in metadata.storage_data.values())",
             "for a folder with a complete checkpoint your function returned False"),
            # only the files it expects, and no other: a stray file is not a missing shard
            ("folder = Path(dcp_dir)\n"
             "try:\n"
             "    metadata = dcp.FileSystemReader(folder).read_metadata()\n"
             "except Exception:\n"
             "    return False\n"
             "listed = {info.relative_path for info in metadata.storage_data.values()}\n"
             "return {p.name for p in folder.iterdir()} == listed | {'.metadata'}",
             "files that .metadata does not list do not matter"),
            # nothing returned for an unfinished save
            ("folder = Path(dcp_dir)\n"
             "if (folder / '.metadata').is_file():\n"
             "    try:\n"
             "        metadata = dcp.FileSystemReader(folder).read_metadata()\n"
             "    except Exception:\n"
             "        return False\n"
             "    return all((folder / i.relative_path).is_file() and\n"
             "               (folder / i.relative_path).stat().st_size >= i.offset + i.length\n"
             "               for i in metadata.storage_data.values())",
             "your function returned None: return True or False"),
            # a path joined as text: a str dcp_dir has no `/`
            ("try:\n"
             "    metadata = dcp.FileSystemReader(dcp_dir).read_metadata()\n"
             "except Exception:\n"
             "    return False\n"
             "return all((dcp_dir / i.relative_path).is_file() and\n"
             "           (dcp_dir / i.relative_path).stat().st_size >= i.offset + i.length\n"
             "           for i in metadata.storage_data.values())",
             "given as a str, checkpoint_is_complete raised TypeError"),
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
            "import pickle\n"
            "folder = Path(dcp_dir)\n"
            "try:\n"
            "    with open(folder / '.metadata', 'rb') as f:\n"
            "        metadata = pickle.load(f)   # our own checkpoints: trusted\n"
            "except (OSError, EOFError, pickle.UnpicklingError):\n"
            "    return False\n"
            "for info in metadata.storage_data.values():\n"
            "    piece = folder / info.relative_path\n"
            "    if not piece.exists() or piece.stat().st_size < info.offset + info.length:\n"
            "        return False\n"
            "return True",
        ],
    },
}
