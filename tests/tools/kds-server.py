#!/usr/bin/python3
# A stand-in for AMD's Key Distribution Service, for snp-certs fetch tests.
#
# Serves ROOT on 127.0.0.1 (only) at a free port, which it prints as the
# first line of standard output.  A request for PATH?QUERY is answered
# with the file ROOT/PATH?QUERY when it exists (KDS's VCEK requests are
# keyed by their query), else ROOT/PATH, else 404.  --throttle N answers
# the first N requests with 429 and "Retry-After: --retry-after".  Every
# request line is appended to --log, so tests can count requests.
#
# Copyright (c) 2026 The qemu-snp authors
#
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import http.server
import os
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', required=True)
    ap.add_argument('--throttle', type=int, default=0)
    ap.add_argument('--retry-after', default='1')
    ap.add_argument('--log', required=True)
    args = ap.parse_args()
    state = {'throttled': 0}
    root = os.path.realpath(args.root)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            pass

        def do_GET(self):
            with open(args.log, 'a') as f:
                f.write(self.path + '\n')
            if state['throttled'] < args.throttle:
                state['throttled'] += 1
                self.send_response(429)
                if args.retry_after != 'none':
                    self.send_header('Retry-After', args.retry_after)
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            u = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(u.path)
            cands = []
            if u.query:
                cands.append(path + '?' + u.query)
            cands.append(path)
            for c in cands:
                f = os.path.realpath(os.path.join(root, c.lstrip('/')))
                if f.startswith(root + os.sep) and os.path.isfile(f):
                    with open(f, 'rb') as fh:
                        body = fh.read()
                    self.send_response(200)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
            self.send_response(404)
            self.send_header('Content-Length', '0')
            self.end_headers()

    srv = http.server.HTTPServer(('127.0.0.1', 0), Handler)
    # One write of the whole line: the reader may close after the newline.
    os.write(1, b'%d\n' % srv.server_address[1])
    os.close(1)
    srv.serve_forever()


if __name__ == '__main__':
    main()
