from kimi_secret_scan.entry import run

if __name__ == "__main__":
    run()
