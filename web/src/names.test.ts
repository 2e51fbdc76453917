// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { remoteServer, serverOf } from './names';
import { inviteCode } from './ui/route';

describe('names of other servers', () => {
  it('takes the server from the last @ of a handle', () => {
    expect(serverOf('alice@a.example')).toBe('a.example');
    expect(serverOf('bob@b.localhost:8449')).toBe('b.localhost:8449');
    expect(serverOf('odd@name@c.example')).toBe('c.example');
    expect(serverOf('nohandle')).toBeNull();
    expect(serverOf('trailing@')).toBeNull();
    expect(serverOf(undefined)).toBeNull();
  });

  it('names the server of remote users only', () => {
    const me = 'alice@a.example';
    expect(remoteServer({ handle: 'bob@b.example:8449' }, me)).toBe('b.example:8449');
    expect(remoteServer({ handle: 'carol@A.Example' }, me)).toBeNull();
    expect(remoteServer({ handle: '42.webhook@a.example' }, me)).toBeNull();
    expect(remoteServer({ handle: 'bob@b.example' }, undefined)).toBeNull();
    expect(remoteServer({}, me)).toBeNull();
  });
});

describe('invite codes', () => {
  const here = 'b.example';
  it('keeps codes and code@server', () => {
    expect(inviteCode('abc', here)).toBe('abc');
    expect(inviteCode(' code@a.example ', here)).toBe('code@a.example');
  });
  it('takes the code of a link of this server', () => {
    expect(inviteCode('https://b.example/invite/xyz', here)).toBe('xyz');
    expect(inviteCode('b.example/invite/xyz', here)).toBe('xyz');
    expect(inviteCode('http://h:8080/invite/xyz?x=1', 'h:8080')).toBe('xyz');
  });
  it('turns a link of another server into code@server', () => {
    expect(inviteCode('https://a.example/invite/xyz', here)).toBe('xyz@a.example');
    expect(inviteCode('https://A.example:443/invite/xyz/', here)).toBe('xyz@a.example');
    expect(inviteCode('https://a.localhost:8448/invite/xyz', here)).toBe('xyz@a.localhost:8448');
    expect(inviteCode('a.example/invite/xyz', here)).toBe('xyz@a.example');
    // A link whose code already names its server keeps it.
    expect(inviteCode('https://b.example/invite/xyz@c.example', here)).toBe('xyz@c.example');
  });
});
