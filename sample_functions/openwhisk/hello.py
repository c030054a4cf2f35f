def main(args):
    name = args.get("name", "World")
    return {"greeting": f"Hello, {name}!"}
