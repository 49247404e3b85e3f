import { AdvisorRoom } from "./AdvisorRoom";
import { Book } from "./Book";
import { BrandingProvider } from "./branding";
import { Check } from "./Check";
import { Customer } from "./Customer";
import { Dashboard } from "./Dashboard";
import { I18nProvider } from "./i18n";
import { Join } from "./Join";
import { Landing, NotFound } from "./Landing";
import { Login } from "./Login";
import { Ops } from "./Ops";
import { Receipt } from "./Receipt";
import { matchRoute, usePath } from "./router";

function Routes() {
  const route = matchRoute(usePath());
  switch (route.name) {
    case "landing":
      return <Landing />;
    case "login":
      return <Login />;
    case "dashboard":
      return <Dashboard />;
    case "ops":
      return <Ops />;
    case "check":
      return <Check />;
    case "receipt":
      return <Receipt key={route.token} token={route.token} />;
    case "team":
      return <Join key={`t:${route.slug}`} team={route.slug} />;
    case "book":
      return <Book key={`b:${route.slug}`} slug={route.slug} />;
    case "invite":
      return <Join key={`i:${route.token}`} invite={route.token} />;
    case "customer":
      return <Customer />;
    case "room":
      return <AdvisorRoom key={route.consultationId} consultationId={route.consultationId} />;
    case "not_found":
      return <NotFound />;
  }
}

export function App() {
  return (
    <BrandingProvider>
      <I18nProvider>
        <Routes />
      </I18nProvider>
    </BrandingProvider>
  );
}
