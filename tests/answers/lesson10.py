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
        ],
        "right": [
            "import tempfile\n"
            "full_path = Path(tempfile.mkdtemp()) / 'full.pt'\n"
            "dcp_to_torch_save(dcp_dir, full_path)\n"
            "ckpt = torch.load(full_path, map_location='cpu', weights_only=True)\n"
            "torch.save(ckpt['model'], path)",
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
        ],
    },
}
