# Run a command in a pseudo-terminal, answering prompts: argv JSON, env JSON, [[prompt substring, answer], ...].
# Prints {"code", "out"} as JSON. Used to test the interactive (TTY-only) paths of the CLI.
import os, pty, sys, time, json, select
args = json.loads(sys.argv[1]); env = json.loads(sys.argv[2]); answers = json.loads(sys.argv[3])
pid, fd = pty.fork()
if pid == 0:
    os.execve(args[0], args, env)
out = b''
def read_until(pat, timeout=30):
    global out
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try: chunk = os.read(fd, 4096)
            except OSError: return False
            if not chunk: return False
            out += chunk
            if pat and pat.encode() in out: return True
    return False
for prompt, answer in answers:
    if not read_until(prompt): break
    time.sleep(0.2)
    os.write(fd, answer.encode() + b'\r')
read_until(None, 20)
_, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({"code": os.waitstatus_to_exitcode(status), "out": out.decode('utf8', 'replace')}))
