import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectionUse, holdsConnection } from './connection-use.ts';

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

  it('tells a graceful stop which requests to the listener not to wait for: watches and followed logs, under a cluster path or at the root', () => {
    assert.equal(holdsConnection('GET', '/k8s/clusters/c-1/api/v1/pods?watch=1'), true);
    assert.equal(holdsConnection('GET', '/k8s/clusters/c-1/api/v1/namespaces/a/pods/p/log?follow=true'), true);
    assert.equal(holdsConnection('GET', '/api/v1/watch/pods'), true);
    assert.equal(holdsConnection('GET', '/k8s/clusters/c-1/api/v1/pods'), false);
    assert.equal(holdsConnection('GET', '/k8s/clusters/c-1/api/v1/pods?watch=false'), false);
    // The cluster id is not the path: a cluster named like a resource changes nothing.
    assert.equal(holdsConnection('GET', '/k8s/clusters/watch/api/v1/pods'), false);
    assert.equal(holdsConnection('GET', '/v1/clusters?watch=1'), false, 'not a Kubernetes path');
  });
});
