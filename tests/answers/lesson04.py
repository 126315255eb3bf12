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
             "the first epoch to train is 4, not 3"),
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
        ],
        "right": [
            "if not val_loss < best_val_loss:\n"
            "    return best_val_loss\n"
            "weights = {name: t.detach().clone() for name, t in model.state_dict().items()}\n"
            "torch.save(dict(epoch=epoch, val_loss=float(val_loss), model=weights), str(path))\n"
            "return val_loss",
        ],
    },
}
