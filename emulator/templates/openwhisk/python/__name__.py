def main(args):
    name = args.get("name", "World")
    print(f"{{name}}: greeting {name}")
    return {"greeting": f"Hello, {name}!"}
