import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectionUse } from './connection-use.ts';

describe('connectionUse', () => {
  it('sends watches and followed logs to the long-lived pool, as kube-apiserver reads them', () => {
    for (const target of [
      '/api/v1/namespaces/default/configmaps?watch=1',
      '/api/v1/pods?watch=true&resourceVersion=7',
      '/apis/apps/v1/namespaces/a/deployments?fieldSelector=metadata.name%3Dx&watch=True',
      '/api/v1/watch/namespaces/default/pods',
      '/api/v1/namespaces/default/pods/p/log?follow=true&container=c',
      '/api/v1/namespaces/default/pods/p/log?container=c&follow=1',
    ]) assert.equal(connectionUse('GET', target), 'long-lived', target);
  });

  it('keeps everything else on the request pool, including a watch or follow that says false', () => {
    for (const target of [
      '/api/v1/namespaces/default/configmaps',
      '/api/v1/namespaces/default/configmaps?watch=false',
      '/api/v1/namespaces/default/configmaps?watch=0',
      '/api/v1/namespaces/default/pods/p/log?follow=false',
      '/api/v1/namespaces/default/pods/p/log',
      '/api/v1/namespaces/default/configmaps/watch-me',
      '/version',
    ]) assert.equal(connectionUse('GET', target), 'requests', target);
    assert.equal(connectionUse('POST', '/api/v1/namespaces/default/configmaps?watch=1'), 'requests');
  });
});
