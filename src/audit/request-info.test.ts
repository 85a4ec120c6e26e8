import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestInfo, type RequestInfo } from './request-info.ts';

/** Cases from kube-apiserver's own TestGetAPIRequestInfo, plus the exec, watch and CRD paths kubectl sends. */
const cases: Array<{ name: string; method: string; url: string; want: Partial<RequestInfo> }> = [
  { name: 'a namespaced list', method: 'GET', url: '/api/v1/namespaces/default/pods', want: { verb: 'list', apiVersion: 'v1', namespace: 'default', resource: 'pods', apiGroup: '' } },
  { name: 'a namespaced get', method: 'GET', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'get', namespace: 'other', resource: 'pods', name: 'foo' } },
  { name: 'a list across namespaces', method: 'GET', url: '/api/v1/pods', want: { verb: 'list', resource: 'pods', namespace: undefined } },
  { name: 'HEAD reads as get', method: 'HEAD', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'get', name: 'foo' } },
  { name: 'watch by query', method: 'GET', url: '/api/v1/namespaces/default/pods?watch=1&resourceVersion=10', want: { verb: 'watch', resource: 'pods' } },
  { name: 'watch=true', method: 'GET', url: '/api/v1/pods?watch=true', want: { verb: 'watch' } },
  { name: 'watch=false is a list', method: 'GET', url: '/api/v1/pods?watch=false', want: { verb: 'list' } },
  { name: 'watch=0 is a list', method: 'GET', url: '/api/v1/pods?watch=0', want: { verb: 'list' } },
  { name: 'watch on a get by name stays a get', method: 'GET', url: '/api/v1/namespaces/default/pods/foo?watch=1', want: { verb: 'get', name: 'foo' } },
  { name: 'watch by path', method: 'GET', url: '/api/v1/watch/namespaces/other/pods', want: { verb: 'watch', namespace: 'other', resource: 'pods' } },
  { name: 'watch by path of one object', method: 'GET', url: '/api/v1/watch/namespaces/other/pods/foo', want: { verb: 'watch', name: 'foo' } },
  { name: 'a watch by field selector names the object', method: 'GET', url: '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dfoo&watch=1', want: { verb: 'watch', name: 'foo' } },
  { name: 'a list by field selector names the object', method: 'GET', url: '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3D%3Dfoo', want: { verb: 'list', name: 'foo' } },
  { name: 'create', method: 'POST', url: '/api/v1/namespaces/other/pods', want: { verb: 'create', resource: 'pods' } },
  { name: 'update', method: 'PUT', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'update', name: 'foo' } },
  { name: 'patch', method: 'PATCH', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'patch', name: 'foo' } },
  { name: 'delete', method: 'DELETE', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'delete', name: 'foo' } },
  { name: 'deletecollection', method: 'DELETE', url: '/api/v1/namespaces/other/pods', want: { verb: 'deletecollection', resource: 'pods' } },
  { name: 'the exec subresource', method: 'POST', url: '/api/v1/namespaces/default/pods/shell/exec?command=sh&stdin=true&tty=true', want: { verb: 'create', resource: 'pods', name: 'shell', subresource: 'exec' } },
  { name: 'exec over WebSocket is a GET', method: 'GET', url: '/api/v1/namespaces/default/pods/shell/exec?command=ls', want: { verb: 'get', subresource: 'exec', name: 'shell' } },
  { name: 'the log subresource', method: 'GET', url: '/api/v1/namespaces/default/pods/foo/log?follow=true', want: { verb: 'get', subresource: 'log' } },
  { name: 'the status subresource', method: 'PUT', url: '/api/v1/namespaces/other/pods/foo/status', want: { verb: 'update', subresource: 'status' } },
  { name: 'the proxy subresource keeps the rest of the path out', method: 'GET', url: '/api/v1/namespaces/default/pods/web:8080/proxy/index.html', want: { verb: 'get', resource: 'pods', name: 'web:8080', subresource: 'proxy' } },
  { name: 'the proxy verb by path has no subresource', method: 'GET', url: '/api/v1/proxy/namespaces/default/pods/web/index.html', want: { verb: 'proxy', resource: 'pods', name: 'web', subresource: undefined } },
  { name: 'a namespace is cluster scoped, named by itself', method: 'GET', url: '/api/v1/namespaces/other', want: { verb: 'get', resource: 'namespaces', name: 'other', namespace: 'other' } },
  { name: 'the namespace status subresource', method: 'PUT', url: '/api/v1/namespaces/other/status', want: { resource: 'namespaces', name: 'other', subresource: 'status' } },
  { name: 'the namespace finalize subresource', method: 'PUT', url: '/api/v1/namespaces/other/finalize', want: { resource: 'namespaces', name: 'other', subresource: 'finalize' } },
  { name: 'a grouped resource', method: 'GET', url: '/apis/apps/v1/namespaces/default/deployments/web', want: { apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments', name: 'web' } },
  { name: 'a CRD group', method: 'GET', url: '/apis/management.cattle.io/v3/clusterroletemplatebindings', want: { verb: 'list', apiGroup: 'management.cattle.io', apiVersion: 'v3', resource: 'clusterroletemplatebindings' } },
  { name: 'a namespaced CRD object', method: 'DELETE', url: '/apis/example.com/v1alpha1/namespaces/team/widgets/w1', want: { verb: 'delete', apiGroup: 'example.com', namespace: 'team', resource: 'widgets', name: 'w1' } },
  { name: 'a cluster-scoped object', method: 'GET', url: '/apis/rbac.authorization.k8s.io/v1/clusterroles/view', want: { apiGroup: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'view', namespace: undefined } },
  { name: 'percent-encoded names are decoded', method: 'GET', url: '/api/v1/namespaces/default/configmaps/a%3Ab', want: { name: 'a:b' } },
];

const nonResource: Array<{ name: string; method: string; url: string; verb: string }> = [
  { name: '/version', method: 'GET', url: '/version', verb: 'get' },
  { name: 'API discovery of a group', method: 'GET', url: '/apis/apps', verb: 'get' },
  { name: 'API discovery of a version', method: 'GET', url: '/api/v1', verb: 'get' },
  { name: 'openapi', method: 'GET', url: '/openapi/v2', verb: 'get' },
  { name: 'a Drover API call', method: 'POST', url: '/v1/login', verb: 'post' },
  { name: 'health', method: 'GET', url: '/healthz', verb: 'get' },
];

describe('parseRequestInfo reads a request as kube-apiserver does', () => {
  for (const c of cases) {
    it(c.name, () => {
      const info = parseRequestInfo(c.method, c.url);
      assert.equal(info.isResourceRequest, true);
      for (const [key, value] of Object.entries(c.want)) assert.equal(info[key as keyof RequestInfo], value, `${key} of ${c.method} ${c.url}`);
    });
  }
  for (const c of nonResource) {
    it(`${c.name} is a non-resource request`, () => {
      const info = parseRequestInfo(c.method, c.url);
      assert.equal(info.isResourceRequest, false);
      assert.equal(info.verb, c.verb);
      assert.equal(info.path, c.url);
    });
  }
});
