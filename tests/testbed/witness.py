"""The egress witness: every name the enclave asks for and every connection it attempts out.

It runs in its own network namespace, which is the default route and the only resolver of
every enclave namespace, so nothing can leave the enclave without passing it:

- a DNS sink on port 53 (UDP and TCP) logs every query and answers each name with an
  address of its own from 198.18.0.0/15 (the benchmarking range), so that the connection
  that follows is recorded under the name it was meant for;
- a packet listener on its link records every TCP connection attempt (a SYN), every
  UDP datagram that is not a DNS query to it and every ICMP echo request (a ping); the
  kernel then refuses them (RST, ICMP), so a leaking workload fails fast instead of hanging.

Events are JSON lines in events.jsonl: {"time", "kind": dns|tcp|udp|icmp, "source",
"destination", "name"}. Its HTTP API on port 8053 answers GET /events?since=EPOCH with
{"count": N, "events": [...]}, for the validate role; `Witness` reads the file directly.

Run as `python -m testbed.witness STATE_DIR ADDRESS CONTROLLER_CIDR` inside the witness namespace:
everything that reaches it is recorded except what comes from the controller's link (the
jump host's own traffic is not the enclave's). Containers' own addresses (a runtime's
bridge inside a node) are recorded like the nodes'.
"""

import ipaddress
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENTS_FILE = "events.jsonl"
READY_FILE = "ready"
API_PORT = 8053
SINK_NETWORK = ipaddress.ip_network("198.18.0.0/15")
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
ICMP_ECHO_REQUEST = 8


class Witness:
    """Read what a running witness recorded (from its state directory)."""

    def __init__(self, directory, api_url=None):
        self.directory = directory
        self.api_url = api_url

    def events(self, since=0.0):
        """Every event recorded at or after `since` (epoch seconds), oldest first."""
        try:
            with open(os.path.join(self.directory, EVENTS_FILE), encoding="utf-8") as handle:
                recorded = [json.loads(line) for line in handle if line.strip()]
        except FileNotFoundError:
            return []
        return [event for event in recorded if event["time"] >= since]

    def count(self, since=0.0):
        return len(self.events(since))

    def names(self, since=0.0):
        """Every name the enclave asked for or connected to, sorted."""
        return sorted({event["name"] for event in self.events(since) if event.get("name")})


class _Recorder:
    """Appends events to the file; remembers which sink address stands for which name."""

    def __init__(self, directory, own_address):
        self.own_address = own_address
        self.path = os.path.join(directory, EVENTS_FILE)
        self.lock = threading.Lock()
        self.addresses = {}
        self.names_by_address = {}

    def sink_address(self, name):
        with self.lock:
            if name not in self.addresses:
                address = str(SINK_NETWORK[len(self.addresses) + 1])
                self.addresses[name] = address
                self.names_by_address[address] = name
            return self.addresses[name]

    def record(self, kind, source, destination, name):
        event = {"time": time.time(), "kind": kind, "source": source, "destination": destination, "name": name}
        with self.lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, sort_keys=True) + "\n")


def _question(query):
    """(name, type, end offset) of the first question of a DNS query."""
    labels, offset = [], 12
    while query[offset]:
        length = query[offset]
        labels.append(query[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    qtype = struct.unpack("!H", query[offset + 1:offset + 3])[0]
    return ".".join(labels).lower(), qtype, offset + 5


def dns_answer(query, recorder, source):
    """Log the question; answer an A query with the name's own sink address, anything else with no data.

    The witness's own lookups (http.server asks for its own name) are answered, not recorded.
    """
    name, qtype, end = _question(query)
    if not source.startswith(recorder.own_address + ":"):
        recorder.record("dns", source, "dns", name)
    header = query[:2] + struct.pack("!HHHHH", 0x8180, 1, 1 if qtype == 1 else 0, 0, 0)
    answer = b""
    if qtype == 1:
        address = socket.inet_aton(recorder.sink_address(name))
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + address
    return header + query[12:end] + answer


def _serve_dns_udp(server, recorder):
    with server:
        while True:
            query, peer = server.recvfrom(4096)
            try:
                server.sendto(dns_answer(query, recorder, f"{peer[0]}:{peer[1]}"), peer)
            except (IndexError, struct.error):
                recorder.record("dns", f"{peer[0]}:{peer[1]}", "dns", None)


def _serve_dns_tcp(server, recorder):
    with server:
        while True:
            connection, peer = server.accept()
            with connection:
                connection.settimeout(2)
                try:
                    length = struct.unpack("!H", connection.recv(2))[0]
                    reply = dns_answer(connection.recv(length), recorder, f"{peer[0]}:{peer[1]}")
                    connection.sendall(struct.pack("!H", len(reply)) + reply)
                except (OSError, IndexError, struct.error):
                    recorder.record("dns", f"{peer[0]}:{peer[1]}", "dns", None)


def _listen_packets(sniffer, address, controller, recorder):
    """Record each TCP SYN and UDP datagram arriving from the enclave, except DNS to us."""
    while True:
        frame, meta = sniffer.recvfrom(65535)
        if meta[2] == PACKET_OUTGOING:
            continue
        event = _connection_attempt(frame[14:], address, controller)
        if event:
            kind, source, destination, destination_ip = event
            recorder.record(kind, source, destination, recorder.names_by_address.get(destination_ip))


def _connection_attempt(packet, own_address, controller):
    """(kind, source, destination, destination address) of an attempt out, or None for anything else."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    header_length = (packet[0] & 0x0F) * 4
    protocol = packet[9]
    source_ip, destination_ip = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
    if source_ip == own_address or ipaddress.ip_address(source_ip) in controller:
        return None
    if protocol == socket.IPPROTO_ICMP:  # a ping has no port: the attempt is the echo request itself
        if len(packet) < header_length + 8 or packet[header_length] != ICMP_ECHO_REQUEST:
            return None
        return "icmp", source_ip, destination_ip, destination_ip
    if len(packet) < header_length + 14:
        return None
    source_port, destination_port = struct.unpack("!HH", packet[header_length:header_length + 4])
    if protocol == socket.IPPROTO_TCP:
        flags = packet[header_length + 13]
        if not flags & 0x02 or flags & 0x10:  # a SYN without ACK opens a connection
            return None
        kind = "tcp"
    elif protocol == socket.IPPROTO_UDP:
        kind = "udp"
    else:
        return None
    if destination_ip == own_address and destination_port in (53, API_PORT):
        return None
    return kind, f"{source_ip}:{source_port}", f"{destination_ip}:{destination_port}", destination_ip


def _api_handler(directory):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            events = Witness(directory).events(float(query.get("since", ["0"])[0]))
            body = json.dumps({"count": len(events), "events": events}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            return None
    return Handler


def serve(directory, address, controller_cidr, interface="eth0"):
    """Bind everything first, then say ready: a query sent after `ready` is never missed."""
    recorder = _Recorder(directory, address)
    controller = ipaddress.ip_network(controller_cidr)
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sniffer.bind((interface, 0))
    dns_udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns_udp.bind((address, 53))
    dns_tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dns_tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    dns_tcp.bind((address, 53))
    dns_tcp.listen(16)
    api = ThreadingHTTPServer((address, API_PORT), _api_handler(directory))
    for target, args in ((_serve_dns_udp, (dns_udp, recorder)), (_serve_dns_tcp, (dns_tcp, recorder)),
                         (_listen_packets, (sniffer, address, controller, recorder)), (api.serve_forever, ())):
        threading.Thread(target=target, args=args, daemon=True).start()
    with open(os.path.join(directory, READY_FILE), "w", encoding="ascii") as ready:
        ready.write(str(os.getpid()))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    serve(*sys.argv[1:4])
