/**
 * Encryption at rest for credentials Drover must use again later (downstream
 * cluster tokens, provider secrets): AES-256-GCM, a fresh 12-byte IV per value,
 * the auth tag checked on decrypt. The key is `DROVER_ENCRYPTION_KEY` (64 hex
 * characters or base64 of 32 bytes) or `<data-dir>/encryption.key`, created with
 * mode 0600 on first use. A wrong key or a tampered value fails closed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';

const version = 'v1';

/** Encrypts and decrypts short secrets; the ciphertext is `v1:<iv>:<tag>:<data>` in base64url. */
export interface SecretBox {
  encrypt(plaintext: string, associatedData?: string): string;
  decrypt(ciphertext: string, associatedData?: string): string;
}

export function parseKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new InvalidArgumentError(source, '32 bytes as 64 hex characters or base64');
  return key;
}

/** The key given (`DROVER_ENCRYPTION_KEY`, parsed by the server's config), or the data dir's key file (created if missing). */
export function loadEncryptionKey(dataDir: string, given?: Buffer): Buffer {
  if (given !== undefined) return given;
  const path = join(dataDir, 'encryption.key');
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // 'wx': never overwrite a key another process just wrote.
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return parseKey(readFileSync(path, 'utf8'), path);
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new InvalidArgumentError('encryption key', '32 bytes');
  return {
    encrypt(plaintext, associatedData = '') {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(associatedData, 'utf8'));
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [version, iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join(':');
    },
    decrypt(ciphertext, associatedData = '') {
      const [v, iv, tag, data] = ciphertext.split(':');
      if (v !== version || iv === undefined || tag === undefined || data === undefined) {
        throw new DroverError('DRV_ERR_INTERNAL', 'encrypted value has an unknown format');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(associatedData, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new DroverError('DRV_ERR_INTERNAL', 'cannot decrypt a stored secret: wrong DROVER_ENCRYPTION_KEY or key file, or the value was altered', { cause: error });
      }
    },
  };
}
