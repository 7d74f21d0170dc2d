import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutput, readModelFile, writeFileAtomic } from '../src/io/files.js';
import { FileError } from '../src/errors.js';

describe('writing files safely', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrinkray-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = (s: string) => new TextEncoder().encode(s);

  it('replaces a file whole, keeps its permissions, and leaves no temporary file', () => {
    const path = join(dir, 'private.bin');
    writeFileSync(path, 'old');
    chmodSync(path, 0o600);
    writeFileAtomic(path, bytes('new contents'));
    expect(readFileSync(path, 'utf8')).toBe('new contents');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.startsWith('private.bin'))).toEqual(['private.bin']);
  });

  it('writes through a symlink (the link stays) and refuses directories, devices and dangling links', () => {
    const target = join(dir, 'real.bin');
    const link = join(dir, 'link.bin');
    writeFileSync(target, 'old');
    symlinkSync(target, link);
    writeFileAtomic(link, bytes('through the link'));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('through the link');
    mkdirSync(join(dir, 'folder'));
    expect(() => writeFileAtomic(join(dir, 'folder'), bytes('x'))).toThrow(/is a directory, not a file; refusing to replace it/);
    expect(() => checkOutput('/dev/null')).toThrow(/\/dev\/null is a device/);
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    expect(() => writeFileAtomic(join(dir, 'dangling'), bytes('x'))).toThrow(FileError);
    expect(() => writeFileAtomic(join(dir, 'no', 'such', 'folder.bin'), bytes('x'))).toThrow(/Cannot write .*folder\.bin: the folder .* does not exist/);
  });

  it('refuses an input as the output, and removes what an interrupted write left behind', () => {
    const data = join(dir, 'data.csv');
    writeFileSync(data, 'a,y\n1,2\n');
    expect(() => checkOutput(data, [data])).toThrow(/is also an input of this command/);
    const path = join(dir, 'model.bin');
    const stale = `${path}.999999.deadbeef.tmp`; // a writer that no longer runs
    const live = `${path}.${process.pid}.cafebabe.tmp`; // this process: still writing, kept
    writeFileSync(stale, 'partial');
    writeFileSync(live, 'partial');
    writeFileAtomic(path, bytes('whole'));
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    rmSync(live);
  });

  it('reads model files only from regular files', () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    expect(() => readModelFile(fifo)).toThrow(/is a FIFO, not a model file/);
    expect(() => readModelFile('/dev/zero')).toThrow(/is a device, not a model file/);
    expect(() => readModelFile(join(dir, 'absent'))).toThrow(/ENOENT/);
  });
});
