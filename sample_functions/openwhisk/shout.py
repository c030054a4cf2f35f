def main(args):
    return {"greeting": str(args.get("greeting", "")).upper()}
