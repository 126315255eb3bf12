"""Answers a student plausibly writes to the exercises of lesson 07: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
    1: {
        "wrong": [
            # loads the file to see whether it loads: runs the payload
            ("try:\n"
             "    torch.load(path, map_location='cpu', weights_only=False)\n"
             "    return True\n"
             "except Exception:\n"
             "    return False",
             "ran the code inside"),
            # a denylist over the raw bytes
            ("with open(path, 'rb') as f:\n"
             "    data = f.read()\n"
             "return not any(word in data for word in (b'system', b'rmtree', b'exec'))",
             "a denylist misses"),
            # the lesson's own denylist scanner
            ("return scan(path) == 'clean'",
             "a denylist misses"),
            # weights_only=True as the test, but a refusal raises instead of answering False
            ("torch.load(path, map_location='cpu', weights_only=True)\n"
             "return True",
             "a refusal means the file is not safe"),
            # trusts the name
            ("if str(path).endswith('.safetensors'):\n"
             "    return True\n"
             "return inspect_checkpoint(path).format == 'torch zip' and "
             "not inspect_checkpoint(path).unsafe_globals",
             "judge a file by its bytes, not its name"),
            # torch's lister knows neither safetensors nor the legacy format
            ("return not torch.serialization.get_unsafe_globals_in_checkpoint(path)",
             "raised ValueError on weights.safetensors"),
            # no unsafe globals, but not a checkpoint either
            ("return not inspect_checkpoint(path).unsafe_globals",
             "which is not a checkpoint at all"),
            # the format and the globals, but an unread pickle lists no globals: a bypass
            ("info = inspect_checkpoint(path)\n"
             "if info.format == 'safetensors':\n"
             "    return True\n"
             "return info.format in ('torch zip', 'legacy torch') and not info.unsafe_globals",
             "proves nothing when the reading stopped early"),
            # every pickle that was read and names nothing unsafe, a plain pickle included
            ("info = inspect_checkpoint(path)\n"
             "if info.format == 'safetensors':\n"
             "    return True\n"
             "return info.format != 'not a checkpoint' and info.pickle_read and "
             "not info.unsafe_globals",
             "a plain pickle, not a torch.save file"),
            # lets torch.load decide, by the file's name: a safetensors file named .bin fails
            ("try:\n"
             "    torch.load(path, map_location='cpu', weights_only=True)\n"
             "except Exception:\n"
             "    return False\n"
             "return True",
             "a safetensors file under another name"),
            # the CRC-32s as the test of safety: the legacy format has none
            ("info = inspect_checkpoint(path)\n"
             "if info.format == 'safetensors':\n"
             "    return True\n"
             "return info.integrity.startswith('ok') and not info.unsafe_globals",
             "said False for old_format.pt"),
        ],
        "right": [
            "info = ckpt_helpers.inspect_checkpoint(str(path))\n"
            "loadable = {ckpt_helpers.TORCH_ZIP, ckpt_helpers.TORCH_LEGACY}\n"
            "if info.format == ckpt_helpers.SAFETENSORS:\n"
            "    return True\n"
            "return info.format in loadable and info.pickle_read and len(info.unsafe_globals) == 0",
            # torch's own rules, as inspect_checkpoint applies them
            "info = inspect_checkpoint(path)\n"
            "return info.format == 'safetensors' or info.weights_only_loadable",
            # sniff the format, then let the weights_only=True allowlist decide
            "kind = inspect_checkpoint(path).format\n"
            "if kind == 'safetensors':\n"
            "    return True\n"
            "if kind not in ('torch zip', 'legacy torch'):\n"
            "    return False\n"
            "try:\n"
            "    torch.load(path, map_location='cpu', weights_only=True)\n"
            "except Exception:\n"
            "    return False\n"
            "return True",
        ],
    },
    2: {
        "wrong": [
            ("def save_tied(model, path):\n"
             "    save_file(model.state_dict(), path)\n"
             "\n"
             "def load_tied(path):\n"
             "    model = TinyLM()\n"
             "    model.load_state_dict(load_file(path))\n"
             "    return model",
             "save_file refuses tensors that share memory"),
            ("def save_tied(model, path):\n"
             "    torch.save(model.state_dict(), path)\n"
             "\n"
             "def load_tied(path):\n"
             "    model = TinyLM()\n"
             "    model.load_state_dict(torch.load(path, weights_only=True))\n"
             "    return model",
             "not safetensors"),
            # unties the model so that save_file accepts it
            ("def save_tied(model, path):\n"
             "    model.head.weight = nn.Parameter(model.embed.weight.detach().clone())\n"
             "    save_file(model.state_dict(), path)\n"
             "\n"
             "def load_tied(path):\n"
             "    model = TinyLM()\n"
             "    model.load_state_dict(load_file(path))\n"
             "    return model",
             "save_tied untied the model"),
            # two copies in the file, loaded with assign=True
            ("def save_tied(model, path):\n"
             "    save_file({k: v.clone() for k, v in model.state_dict().items()}, path)\n"
             "\n"
             "def load_tied(path):\n"
             "    model = TinyLM()\n"
             "    model.load_state_dict(load_file(path), assign=True)\n"
             "    return model",
             "the loaded model is no longer tied"),
            ("def save_tied(model, path):\n"
             "    save_model(model, path)\n"
             "\n"
             "def load_tied(path):\n"
             "    return TinyLM().eval()",
             "predicts differently"),
            # ready to predict means evaluation mode
            ("def save_tied(model, path):\n"
             "    save_model(model, path)\n"
             "\n"
             "def load_tied(path):\n"
             "    model = TinyLM()\n"
             "    load_model(model, path)\n"
             "    return model",
             "in training mode"),
            # changes the mode of the model it saves
            ("def save_tied(model, path):\n"
             "    save_model(model.eval(), path)\n"
             "\n"
             "def load_tied(path):\n"
             "    model = TinyLM()\n"
             "    load_model(model, path)\n"
             "    return model.eval()",
             "changed the mode of the model"),
            # Step 4's file instead of the one at `path`
            ("def save_tied(model, path):\n"
             "    save_model(model, path)\n"
             "\n"
             "def load_tied(path):\n"
             "    model = TinyLM()\n"
             "    load_model(model, lm_path)\n"
             "    return model.eval()",
             "does not hold the weights saved in the file"),
            # keeps the model in memory instead of reading the file
            ("import copy\n"
             "_saved = {}\n"
             "\n"
             "def save_tied(model, path):\n"
             "    save_model(model, path)\n"
             "    _saved['model'] = copy.deepcopy(model)\n"
             "\n"
             "def load_tied(path):\n"
             "    return copy.deepcopy(_saved['model']).eval()",
             "does not hold the weights saved in the file"),
            # the two names share memory, but they are two parameters
            ("def save_tied(model, path):\n"
             "    save_file({k: v.clone() for k, v in model.state_dict().items()}, path)\n"
             "\n"
             "def load_tied(path):\n"
             "    model = TinyLM()\n"
             "    model.load_state_dict(load_file(path), assign=True)\n"
             "    model.head.weight = nn.Parameter(model.embed.weight.data)\n"
             "    return model.eval()",
             "no longer tied"),
        ],
        "right": [
            # two copies in the file; a plain load copies both into the one tied parameter
            "def save_tied(model, path):\n"
            "    save_file({k: v.detach().clone() for k, v in model.state_dict().items()},\n"
            "              str(path))\n"
            "\n"
            "def load_tied(path):\n"
            "    net = TinyLM()\n"
            "    net.load_state_dict(load_file(str(path)))\n"
            "    return net.eval()",
            # the alias left out by hand, and the report of the partial load checked
            "def save_tied(model, path):\n"
            "    weights = {k: v for k, v in model.state_dict().items() if k != 'head.weight'}\n"
            "    save_file(weights, path, metadata={'tied': 'head.weight=embed.weight'})\n"
            "\n"
            "def load_tied(path):\n"
            "    model = TinyLM()\n"
            "    report = model.load_state_dict(load_file(path), strict=False)\n"
            "    assert report.missing_keys == ['head.weight'] and not report.unexpected_keys\n"
            "    model.eval()\n"
            "    return model",
            # save_model's file holds the matrix once; a non-strict plain load fills both names
            "def save_tied(model, path):\n"
            "    save_model(model, str(path), metadata={'vocab': '16'})\n"
            "\n"
            "def load_tied(path):\n"
            "    fresh = TinyLM()\n"
            "    fresh.load_state_dict(load_file(path), strict=False)\n"
            "    assert fresh.head.weight is fresh.embed.weight\n"
            "    return fresh.train(False)",
        ],
    },
    3: {
        "wrong": [
            # newest by modification time, no integrity check
            ("files = sorted(Path(folder).glob('step_*.pt'), key=lambda p: p.stat().st_mtime)\n"
             "return files[-1] if files else None",
             "step_1200.pt is truncated"),
            # "loads without an error": the flipped bit passes torch.load
            ("def step(p):\n"
             "    return int(p.stem.split('_')[1])\n"
             "for path in sorted(Path(folder).glob('step_*.pt'), key=step, reverse=True):\n"
             "    try:\n"
             "        torch.load(path, weights_only=True)\n"
             "    except Exception:\n"
             "        continue\n"
             "    return path\n"
             "return None",
             "checks the CRC-32s"),
            # checked, but ordered by name
            ("for path in sorted(Path(folder).glob('*.pt'), reverse=True):\n"
             "    try:\n"
             "        load_checkpoint(path)\n"
             "        return path\n"
             "    except CheckpointError:\n"
             "        pass\n"
             "return None",
             "compare the step numbers as numbers"),
            # testzip on every file: a truncated one is not even a zip
            ("intact = [p for p in Path(folder).glob('step_*.pt')\n"
             "          if zipfile.ZipFile(p).testzip() is None]\n"
             "return max(intact, key=lambda p: int(p.stem[5:]), default=None)",
             "skip damaged files"),
            # falls back to the newest file when none is intact
            ("paths = sorted(Path(folder).glob('step_*.pt'), key=lambda p: int(p.stem[5:]))\n"
             "for path in reversed(paths):\n"
             "    try:\n"
             "        with zipfile.ZipFile(path) as archive:\n"
             "            if archive.testzip() is None:\n"
             "                return path\n"
             "    except zipfile.BadZipFile:\n"
             "        pass\n"
             "return paths[-1]",
             "return None when no checkpoint is intact"),
            # the kit's helper orders by modification time
            ("from ckpt_helpers import latest_checkpoint\n"
             "return latest_checkpoint(folder, r'step_\\d+\\.pt')",
             "not by modification time"),
            # checked, but ordered by modification time
            ("for path in sorted(Path(folder).glob('step_*.pt'), key=os.path.getmtime,\n"
             "                   reverse=True):\n"
             "    try:\n"
             "        with zipfile.ZipFile(path) as archive:\n"
             "            if archive.testzip() is None:\n"
             "                return path\n"
             "    except zipfile.BadZipFile:\n"
             "        pass\n"
             "return None",
             "not by modification time"),
            # a number anywhere in the name: the temp file of an unfinished save counts
            ("found = []\n"
             "for path in Path(folder).iterdir():\n"
             "    match = re.search(r'step_(\\d+)', path.name)\n"
             "    if match:\n"
             "        found.append((int(match.group(1)), path))\n"
             "for _, path in sorted(found, reverse=True):\n"
             "    try:\n"
             "        load_checkpoint(path)\n"
             "    except CheckpointError:\n"
             "        continue\n"
             "    return path\n"
             "return None",
             "which is not named step_<N>.pt"),
            # a zip that opens is not an intact zip
            ("steps = sorted(Path(folder).glob('step_*.pt'), key=lambda p: int(p.stem[5:]))\n"
             "intact = [p for p in steps if zipfile.is_zipfile(p)]\n"
             "return intact[-1] if intact else None",
             "checks the CRC-32s"),
            # only the newest file is considered: a damaged one ends the search
            ("paths = sorted(Path(folder).glob('step_*.pt'), key=lambda p: int(p.stem[5:]))\n"
             "if not paths:\n"
             "    return None\n"
             "try:\n"
             "    load_checkpoint(paths[-1])\n"
             "except CheckpointError:\n"
             "    return None\n"
             "return paths[-1]",
             "do not stop at the first"),
        ],
        "right": [
            "by_step = sorted(Path(folder).glob('step_*.pt'), key=lambda p: int(p.stem[5:]))\n"
            "intact = [p for p in by_step if inspect_checkpoint(p).integrity.startswith('ok')]\n"
            "return intact[-1] if intact else None",
            "def intact(path):\n"
            "    try:\n"
            "        load_checkpoint(path)\n"
            "    except CheckpointError:\n"
            "        return False\n"
            "    return True\n"
            "\n"
            "steps = {int(p.name[5:-3]): p for p in Path(folder).glob('step_*.pt')\n"
            "         if p.name[5:-3].isdigit()}\n"
            "good = [n for n in steps if intact(steps[n])]\n"
            "return str(steps[max(good)]) if good else None",
            "candidates = []\n"
            "for path in Path(folder).iterdir():\n"
            "    match = re.fullmatch(r'step_(\\d+)\\.pt', path.name)\n"
            "    if match:\n"
            "        candidates.append((int(match.group(1)), path))\n"
            "for _, path in sorted(candidates, reverse=True):\n"
            "    try:\n"
            "        with zipfile.ZipFile(path) as archive:\n"
            "            if archive.testzip() is None:\n"
            "                return str(path)\n"
            "    except (zipfile.BadZipFile, OSError):\n"
            "        continue\n"
            "return None",
        ],
    },
}
