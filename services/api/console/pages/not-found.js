import { html } from '../lib/html.js';
import { Link } from '../lib/router.js';
import { Page } from '../components/layout.js';
import { Empty } from '../components/states.js';

export const NotFoundPage = () => html`<${Page} title="Not found">
  <${Empty} title="There is no page here.">Go to the <${Link} href="/">live feed<//>.<//>
<//>`;
