"""Answers a student plausibly writes to the exercises of lesson 04: see tests/answers/__init__.py."""

ANSWERS: dict[int, dict[str, list]] = {
    1: {
        "wrong": [
            ("torch.save(make_checkpoint(int(epoch), loss, math.inf, model, optimizer, "
             "scheduler,\n"
             "                           train_loader, vars(args)), path)",
             "the loss is stored as a tensor"),
            ("torch.save(make_checkpoint(epoch, loss.item(), math.inf, model, optimizer, "
             "scheduler,\n"
             "                           train_loader, vars(args)), path)",
             "refuses your file"),
            ("torch.save(make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer,\n"
             "                           scheduler, train_loader, args), path)",
             "argparse.Namespace"),
            ("torch.save(make_checkpoint(int(epoch), float(loss), math.inf, model, optimizer,\n"
             "                           scheduler, train_loader, vars(args)), path)",
             "save_ckpt warned"),
            ("torch.save({\"format_version\": 1, \"epoch\": int(epoch), "
             "\"model\": model.state_dict(),\n"
             "            \"scheduler\": scheduler.state_dict(), \"loss\": loss.item(),\n"
             "            \"best_val_loss\": math.inf, \"config\": vars(args),\n"
             "            \"rng\": {\"torch\": torch.get_rng_state(), \"cuda\": None,\n"
             "                    \"loader\": train_loader.generator.get_state(),\n"
             "                    \"python\": random.getstate()}}, path)",
             "your checkpoint lacks ['optimizer']"),
            ("ckpt = make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer, "
             "scheduler,\n"
             "                       train_loader, vars(args))\n"
             "ckpt[\"rng\"][\"loader\"] = torch.get_rng_state()  # the global generator, "
             "not the loader's\n"
             "torch.save(ckpt, path)",
             "train_loader.generator.get_state()"),
            # saved where the notebook keeps its file, not where it is told
            ("ckpt = make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer, scheduler,\n                       train_loader, vars(args))\n"
             "torch.save(ckpt, ex1_path)",
             "save_ckpt saved to ex1_path, not to the path it is given"),
            # a pickle protocol weights_only=True cannot read
            ("ckpt = make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer, scheduler,\n                       train_loader, vars(args))\n"
             "torch.save(ckpt, path, pickle_protocol=4)",
             "another pickle protocol"),
            # CUDA's generators asked for on a machine without CUDA: [] where the schema says None
            ("ckpt = make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer, scheduler,\n                       train_loader, vars(args))\n"
             "ckpt[\"rng\"][\"cuda\"] = torch.cuda.get_rng_state_all()\n"
             "torch.save(ckpt, path)",
             "rng['cuda'] is []"),
            # a new generator's state, not the global one's
            ("ckpt = make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer, scheduler,\n                       train_loader, vars(args))\n"
             "ckpt[\"rng\"][\"torch\"] = torch.Generator().get_state()\n"
             "torch.save(ckpt, path)",
             "rng['torch'] is not the state of torch's global generator"),
            # Python's generator forgotten
            ("ckpt = make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer, scheduler,\n                       train_loader, vars(args))\n"
             "ckpt[\"rng\"][\"python\"] = None\n"
             "torch.save(ckpt, path)",
             "rng['python'] is not the state of Python's random module"),
            # the next epoch stored instead of the epochs completed
            ("torch.save(make_checkpoint(int(epoch) + 1, loss.item(), math.inf, model, optimizer,\n"
             "                           scheduler, train_loader, vars(args)), path)",
             "'epoch' is 3, but save_ckpt was given epoch 2"),
            ("torch.save(make_checkpoint(int(epoch), loss.item(), None, model, optimizer,\n"
             "                           scheduler, train_loader, vars(args)), path)",
             "'best_val_loss' is None"),
            ("torch.save(make_checkpoint(int(epoch), loss.item(), math.inf, model, optimizer,\n"
             "                           scheduler, train_loader, str(args)), path)",
             "'config' must hold the settings of args as a dict of plain values"),
            ("torch.save(make_checkpoint(int(epoch), loss.detach(), math.inf, model, optimizer,\n"
             "                           scheduler, train_loader, vars(args)), path)",
             "the loss is stored as a tensor"),
            # optimizer and scheduler swapped
            ("torch.save(make_checkpoint(int(epoch), loss.item(), math.inf, model, scheduler,\n"
             "                           optimizer, train_loader, vars(args)), path)",
             "'optimizer' must hold optimizer.state_dict()"),
        ],
        "right": [
            "ckpt = {\n"
            "    \"format_version\": FORMAT_VERSION,\n"
            "    \"epoch\": epoch.item(),\n"
            "    \"model\": model.state_dict(),\n"
            "    \"optimizer\": optimizer.state_dict(),\n"
            "    \"scheduler\": scheduler.state_dict(),\n"
            "    \"loss\": float(loss.detach()),\n"
            "    \"best_val_loss\": float(\"inf\"),\n"
            "    \"rng\": {\n"
            "        \"torch\": torch.get_rng_state(),\n"
            "        \"cuda\": None,\n"
            "        \"loader\": train_loader.generator.get_state(),\n"
            "        \"python\": random.getstate(),\n"
            "    },\n"
            "    \"config\": dict(vars(args)),\n"
            "}\n"
            "path.parent.mkdir(parents=True, exist_ok=True)\n"
            "with open(path, \"wb\") as f:\n"
            "    torch.save(ckpt, f)",
            "ckpt = make_checkpoint(epoch.item(), loss.detach().item(), float('inf'), model,\n"
            "                       optimizer, scheduler, train_loader, dict(args.__dict__))\n"
            "ckpt['rng']['torch'] = torch.random.get_rng_state()\n"
            "torch.save(ckpt, str(path))",
        ],
    },
    2: {
        "wrong": [
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, "
             "ckpt[\"epoch\"] + 1",
             "the scheduler starts over"),
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "torch.set_rng_state(ckpt[\"rng\"][\"torch\"])\n"
             "return model, optimizer, scheduler, train_loader, val_loader, "
             "ckpt[\"epoch\"] + 1",
             "the training loader's generator starts over"),
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"]",
             "the first epoch to train is 5, not 4"),
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, "
             "ckpt[\"epoch\"] + 1",
             "resume accepted a file with format_version 2"),
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "assert ckpt[\"format_version\"] == FORMAT_VERSION\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, "
             "ckpt[\"epoch\"] + 1",
             "the optimizer starts over"),
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "assert ckpt[\"format_version\"] == FORMAT_VERSION, \"unknown format\"\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, "
             "ckpt[\"epoch\"] + 1",
             "not an assert"),
            # the lesson's CONFIG, not the file's
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(CONFIG)\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"] + 1",
             "build every object from ckpt['config'], not from the lesson's CONFIG"),
            # no map_location: a file saved on a GPU does not load on a CPU-only machine
            ("ckpt = torch.load(path, weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"] + 1",
             "the file was saved on a GPU; load it onto the CPU"),
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=False)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"] + 1",
             "Do not use weights_only=False"),
            ("ckpt = torch.load(path, map_location=\"cpu\")\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"] + 1",
             "pass weights_only=True explicitly"),
            # only newer formats refused
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] > FORMAT_VERSION:\n"
             "    raise ValueError(\"checkpoint from a newer version\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"] + 1",
             "resume accepted a file with format_version 0"),
            # the generators restored first: build() reseeds torch's
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "model, optimizer, scheduler, _, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"] + 1",
             "you restored torch's global generator too early"),
            # only the loader's generator: the global ones start over
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "train_loader.generator.set_state(ckpt[\"rng\"][\"loader\"])\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"] + 1",
             "torch's global generator is not in the saved state"),
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "train_loader.generator.set_state(ckpt[\"rng\"][\"loader\"])\n"
             "torch.set_rng_state(ckpt[\"rng\"][\"torch\"])\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"] + 1",
             "Python's random module is not in the saved state"),
            # the training loader returned twice
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, train_loader, ckpt[\"epoch\"] + 1",
             "val_loader is not the run's validation loader"),
            # a second build for the optimizer: it trains another model
            ("ckpt = torch.load(path, map_location=\"cpu\", weights_only=True)\n"
             "if ckpt[\"format_version\"] != FORMAT_VERSION:\n"
             "    raise ValueError(\"unknown format\")\n"
             "model = build(ckpt[\"config\"])[0]\n"
             "model.load_state_dict(ckpt[\"model\"])\n"
             "_, optimizer, scheduler, train_loader, val_loader = build(ckpt[\"config\"])\n"
             "optimizer.load_state_dict(ckpt[\"optimizer\"])\n"
             "scheduler.load_state_dict(ckpt[\"scheduler\"])\n"
             "restore_rng(ckpt[\"rng\"], train_loader)\n"
             "return model, optimizer, scheduler, train_loader, val_loader, ckpt[\"epoch\"] + 1",
             "the optimizer does not train the model you return"),
        ],
        "right": [
            "state = torch.load(str(path), weights_only=True, map_location=torch.device(\"cpu\"))\n"
            "if state.get(\"format_version\") != 1:\n"
            "    raise ValueError(f\"cannot read checkpoint format {state.get('format_version')}\")\n"
            "cfg = state[\"config\"]\n"
            "net = MODELS[cfg[\"model\"]]()\n"
            "net.load_state_dict(state[\"model\"])\n"
            "opt = torch.optim.Adam(net.parameters(), lr=cfg[\"lr\"])\n"
            "opt.load_state_dict(state[\"optimizer\"])\n"
            "sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg[\"step_size\"], "
            "gamma=cfg[\"gamma\"])\n"
            "sched.load_state_dict(state[\"scheduler\"])\n"
            "train_dl, val_dl = make_loaders(batch_size=cfg[\"batch_size\"], seed=cfg[\"seed\"])\n"
            "train_dl.generator.set_state(state[\"rng\"][\"loader\"])\n"
            "torch.set_rng_state(state[\"rng\"][\"torch\"])\n"
            "random.setstate(state[\"rng\"][\"python\"])\n"
            "return net, opt, sched, train_dl, val_dl, state[\"epoch\"] + 1",
            "class FormatError(ValueError):\n"
            "    pass\n"
            "\n"
            "ckpt = torch.load(path, map_location=lambda storage, location: storage,\n"
            "                  weights_only=True)\n"
            "version = ckpt.get(\"format_version\")\n"
            "if version != FORMAT_VERSION:\n"
            "    raise FormatError(f\"format {version}, this code reads {FORMAT_VERSION}\")\n"
            "parts = build(ckpt[\"config\"])\n"
            "for part, key in zip(parts[:3], (\"model\", \"optimizer\", \"scheduler\")):\n"
            "    part.load_state_dict(ckpt[key])\n"
            "restore_rng(ckpt[\"rng\"], parts[3])\n"
            "return (*parts, ckpt[\"epoch\"] + 1)",
        ],
    },
    3: {
        "wrong": [
            ("if val_loss > best_val_loss:\n"
             "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
             "\"model\": model.state_dict()}, path)\n"
             "    return val_loss\n"
             "return best_val_loss",
             "nothing was saved after epoch 1"),
            ("torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
             "\"model\": model.state_dict()}, path)\n"
             "return min(val_loss, best_val_loss)",
             "save only when val_loss < best_val_loss"),
            ("if val_loss < best_val_loss:\n"
             "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
             "\"model\": model.state_dict()}, path)\n"
             "return val_loss",
             "keep_best returned 0.4"),
            ("if val_loss < best_val_loss:\n"
             "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, \"model\": model}, path)\n"
             "    return val_loss\n"
             "return best_val_loss",
             "refuses your file"),
            # the answer: an equal loss taken for an improvement
            ("if val_loss <= best_val_loss:\n"
             "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
             "\"model\": model.state_dict()}, path)\n"
             "    return val_loss\n"
             "return best_val_loss",
             "an equal loss is no improvement"),
            ("if val_loss < best_val_loss:\n"
             "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
             "\"model\": model.state_dict()}, ex3_path)\n"
             "    return val_loss\n"
             "return best_val_loss",
             "keep_best saved to ex3_path, not to the path it is given"),
            ("if val_loss < best_val_loss:\n"
             "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
             "\"best_val_loss\": best_val_loss,\n"
             "                \"model\": model.state_dict()}, path)\n"
             "    return val_loss\n"
             "return best_val_loss",
             "save exactly {'epoch': epoch"),
            ("if val_loss < best_val_loss:\n"
             "    torch.save({\"epoch\": epoch, \"val_loss\": best_val_loss, "
             "\"model\": model.state_dict()}, path)\n"
             "    return val_loss\n"
             "return best_val_loss",
             "store the val_loss of the epoch you save"),
            ("if val_loss < best_val_loss:\n"
             "    torch.save({\"epoch\": epoch, \"val_loss\": val_loss, "
             "\"model\": model.state_dict()}, path)\n"
             "return best_val_loss",
             "after epoch 1 keep_best returned inf"),
            ("if val_loss < best_val_loss:\n"
             "    torch.save({\"epoch\": epoch - 1, \"val_loss\": val_loss, "
             "\"model\": model.state_dict()}, path)\n"
             "    return val_loss\n"
             "return best_val_loss",
             "the file holds epoch 0, but the best so far is epoch 1"),
        ],
        "right": [
            "best = min(val_loss, best_val_loss)\n"
            "if best < best_val_loss:\n"
            "    with open(path, 'wb') as f:\n"
            "        torch.save({'epoch': int(epoch), 'val_loss': val_loss,\n"
            "                    'model': copy.deepcopy(model.state_dict())}, f)\n"
            "return best",
            "if not val_loss < best_val_loss:\n"
            "    return best_val_loss\n"
            "weights = {name: t.detach().clone() for name, t in model.state_dict().items()}\n"
            "torch.save(dict(epoch=epoch, val_loss=float(val_loss), model=weights), str(path))\n"
            "return val_loss",
        ],
    },
}
