#!/usr/bin/env python3
"""Independent second implementation of spec/federation.md §4-§7 (canonical JSON, signing
inputs, content/event hashes, ed25519 signatures, the X-Hearth header), checked against the
vectors in this directory. Needs python3 and the `cryptography` package.

    python3 spec/vectors/xcheck.py

The Rust crate checks the same files in federation/src/vectors.rs (cargo test -p hearth-federation).
"""
import json, hashlib, base64, os
os.chdir(os.path.dirname(os.path.abspath(__file__)))
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
def b64(b): return base64.b64encode(b).decode().rstrip('=')
def unb64(s): return base64.b64decode(s + '=' * (-len(s) % 4))
def canon(v):
    return json.dumps(v, ensure_ascii=False, separators=(',', ':'), sort_keys=False, allow_nan=False) if not isinstance(v,(dict,list)) else (
        '{' + ','.join(json.dumps(k, ensure_ascii=False) + ':' + canon(v[k]) for k in sorted(v, key=lambda k: k.encode())) + '}' if isinstance(v, dict)
        else '[' + ','.join(canon(x) for x in v) + ']')
def strip(o, *ks): return {k: v for k, v in o.items() if k not in ks}
def sinput(ctx, o): return ctx.encode() + b'\0' + canon(strip(o, 'signatures', 'unsigned')).encode()
def verify(pub, sig, msg): Ed25519PublicKey.from_public_bytes(unb64(pub)).verify(unb64(sig), msg)
c = json.load(open('canonical_json.json'))
for case in c['valid']:
    v = json.loads(case['input_text'])
    out = canon(v).encode()
    # python json escapes DEL? no; but escapes other controls as \u00XX lower-case like serde_json
    assert out.decode() == case['canonical'], (case['name'], out, case['canonical'])
    assert b64(hashlib.sha256(out).digest()) == case['sha256']
e = json.load(open('signed_event.json'))
pk = {k['server_name']: k for k in e['keys']}
for k in e['keys']:
    sk = Ed25519PrivateKey.from_private_bytes(unb64(k['seed']))
    from cryptography.hazmat.primitives import serialization as S
    assert b64(sk.public_key().public_bytes(S.Encoding.Raw, S.PublicFormat.Raw)) == k['public_key']
prev = None
for ev in e['events']:
    assert b64(hashlib.sha256(canon(ev['content']).encode()).digest()) == ev['content_hash']
    se = ev['signed_event']; a = se['action']
    assert sinput('hearth.event.v1', a).decode() == ev['origin_signing_input']
    verify(pk['a.example']['public_key'], a['signatures']['a.example']['ed25519:a1'], sinput('hearth.event.v1', a))
    hs = strip(se, 'content')
    assert sinput('hearth.host-event.v1', hs).decode() == ev['host_signing_input']
    verify(pk['b.example']['public_key'], se['signatures']['b.example']['ed25519:b1'], sinput('hearth.host-event.v1', hs))
    verify(pk['b.example']['public_key'], ev['stub']['signatures']['b.example']['ed25519:b1'], sinput('hearth.host-event.v1', ev['stub']))
    h = b64(hashlib.sha256(canon(strip(se, 'content', 'signatures', 'unsigned')).encode()).digest())
    assert h == ev['event_hash']
    assert se.get('prev_hash') == prev; prev = h
    # sign again: ed25519 is deterministic
    sk = Ed25519PrivateKey.from_private_bytes(unb64(pk['b.example']['seed']))
    assert b64(sk.sign(sinput('hearth.host-event.v1', hs))) == se['signatures']['b.example']['ed25519:b1']
r = json.load(open('signed_request.json'))
sk = Ed25519PrivateKey.from_private_bytes(unb64(r['key']['seed']))
for q in r['requests']:
    obj = {k: q[k] for k in ('method', 'path', 'origin', 'destination', 'ts')}
    obj['body_sha256'] = b64(hashlib.sha256(q['body'].encode()).digest())
    assert obj == q['signed_object']
    sig = b64(sk.sign(sinput('hearth.request.v1', obj)))
    hdr = f'X-Hearth origin="{obj["origin"]}",destination="{obj["destination"]}",key="{r["key"]["key_id"]}",ts="{obj["ts"]}",sig="{sig}"'
    assert hdr == q['authorization'], (hdr, q['authorization'])
k = json.load(open('key_document.json'))
doc = k['signed']
for kid, vk in doc['verify_keys'].items():
    verify(vk['key'], doc['signatures']['b.example'][kid], sinput('hearth.key-document.v1', doc))
print("independent python check: all vectors OK")
