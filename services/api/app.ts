import express from 'express';
import type { Registry } from 'prom-client';
import { handleOpsRequest, type ReadinessCheck } from '../../libs/http/ops-server.js';
import { uuidV7 } from '../../libs/ids/uuid-v7.js';
import type { Logger } from '../../libs/logger/logger.js';
import { requireAdminAuth } from './auth.js';
import { consoleHandler } from './console-routes.js';
import type { ApiContext } from './context.js';
import { createErrorHandler, unknownRoute } from './errors.js';
import { measureRequests, type ApiMetrics } from './metrics.js';
import { registerDevicePeopleRoutes } from './routes/device-people.js';
import { registerDeviceRoutes } from './routes/devices.js';
import { registerEventPushRoutes } from './routes/event-push.js';
import { registerFaceRoutes } from './routes/faces.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerPeopleRoutes } from './routes/people.js';
import { registerEventRoutes } from './routes/events.js';
import { registerObservedDeviceRoutes } from './routes/observed-devices.js';
import { registerPersonDeviceRoutes } from './routes/person-devices.js';
import { registerPictureRoutes } from './routes/pictures.js';
import { registerQuarantineRoutes } from './routes/quarantine.js';
import { registerSessionRoutes } from './routes/session.js';

export interface ApiAppOptions extends ApiContext {
  logger: Logger;
  registry: Registry;
  metrics: ApiMetrics;
  ready: ReadinessCheck;
  adminToken: string;
}

/**
 * The admin API. Every route is registered with its full path on one router (no nested mounts),
 * so the route template is the metrics label and the OpenAPI test can list them all.
 */
export function createApiApp(options: ApiAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const requestId = uuidV7();
    res.locals.requestId = requestId;
    res.set({ 'x-request-id': requestId, 'cache-control': 'no-store' });
    // Headers are never logged: they carry the admin token.
    res.once('finish', () => options.logger.debug({ requestId, method: req.method, url: req.originalUrl, route: req.route?.path ?? null, status: res.statusCode }, 'request'));
    next();
  });
  app.use(measureRequests(options.metrics));

  // Probes without a token, so a load balancer can check the API port itself.
  const probe: express.RequestHandler = (req, res, next) => {
    handleOpsRequest(req, res, options.registry, options.ready).then((handled) => (handled ? undefined : next()), next);
  };
  app.get('/healthz', probe);
  app.get('/readyz', probe);

  // The web console's static files (no data in them, so no token); its data comes through /api.
  app.use(consoleHandler());
  // Authentication comes before routing: without a token or session, even an unknown path answers 401.
  app.use(['/api', '/faces'], requireAdminAuth(options.adminToken, options.sessions));
  app.use(apiRouter(options));
  app.use(unknownRoute);
  app.use(createErrorHandler(options.logger));
  return app;
}

export function apiRouter(context: ApiContext): express.Router {
  const router = express.Router();
  for (const register of [
    registerSessionRoutes, registerDeviceRoutes, registerDevicePeopleRoutes, registerEventPushRoutes, registerPeopleRoutes, registerPersonDeviceRoutes,
    registerFaceRoutes, registerJobRoutes, registerEventRoutes, registerObservedDeviceRoutes, registerQuarantineRoutes, registerPictureRoutes,
  ]) {
    register(router, context);
  }
  return router;
}
