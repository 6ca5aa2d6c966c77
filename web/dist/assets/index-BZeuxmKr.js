function e(e){return e===null?`null`:Array.isArray(e)?`array`:typeof e}function t(t){return e(t)===`object`}function n(e){return Array.isArray(e)&&e.length>0&&e.every(e=>`message`in e)}function r(e,t){return e.length<124?e:t}var i=(e=>(e[e.InternalServerError=4500]=`InternalServerError`,e[e.InternalClientError=4005]=`InternalClientError`,e[e.BadRequest=4400]=`BadRequest`,e[e.BadResponse=4004]=`BadResponse`,e[e.Unauthorized=4401]=`Unauthorized`,e[e.Forbidden=4403]=`Forbidden`,e[e.SubprotocolNotAcceptable=4406]=`SubprotocolNotAcceptable`,e[e.ConnectionInitialisationTimeout=4408]=`ConnectionInitialisationTimeout`,e[e.ConnectionAcknowledgementTimeout=4504]=`ConnectionAcknowledgementTimeout`,e[e.SubscriberAlreadyExists=4409]=`SubscriberAlreadyExists`,e[e.TooManyInitialisationRequests=4429]=`TooManyInitialisationRequests`,e))(i||{}),a=(e=>(e.ConnectionInit=`connection_init`,e.ConnectionAck=`connection_ack`,e.Ping=`ping`,e.Pong=`pong`,e.Subscribe=`subscribe`,e.Next=`next`,e.Error=`error`,e.Complete=`complete`,e))(a||{});function o(r){if(!t(r))throw Error(`Message is expected to be an object, but got ${e(r)}`);if(!r.type)throw Error(`Message is missing the 'type' property`);if(typeof r.type!=`string`)throw Error(`Message is expects the 'type' property to be a string, but got ${e(r.type)}`);switch(r.type){case`connection_init`:case`connection_ack`:case`ping`:case`pong`:if(r.payload!=null&&!t(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an object or nullish or missing, but got "${r.payload}"`);break;case`subscribe`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);if(!t(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an object, but got ${e(r.payload)}`);if(typeof r.payload.query!=`string`)throw Error(`"${r.type}" message payload expects the 'query' property to be a string, but got ${e(r.payload.query)}`);if(r.payload.variables!=null&&!t(r.payload.variables))throw Error(`"${r.type}" message payload expects the 'variables' property to be a an object or nullish or missing, but got ${e(r.payload.variables)}`);if(r.payload.operationName!=null&&e(r.payload.operationName)!==`string`)throw Error(`"${r.type}" message payload expects the 'operationName' property to be a string or nullish or missing, but got ${e(r.payload.operationName)}`);if(r.payload.extensions!=null&&!t(r.payload.extensions))throw Error(`"${r.type}" message payload expects the 'extensions' property to be a an object or nullish or missing, but got ${e(r.payload.extensions)}`);break;case`next`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);if(!t(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an object, but got ${e(r.payload)}`);break;case`error`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);if(!n(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an array of GraphQL errors, but got ${JSON.stringify(r.payload)}`);break;case`complete`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);break;default:throw Error(`Invalid message 'type' property "${r.type}"`)}return r}function s(e,t){return o(typeof e==`string`?JSON.parse(e,t):e)}function c(e,t){return o(e),JSON.stringify(e,t)}function l(e){let{url:t,connectionParams:n,lazy:o=!0,onNonLazyError:l=console.error,lazyCloseTimeout:m=0,keepAlive:h=0,disablePong:g,connectionAckWaitTimeout:_=0,retryAttempts:v=5,retryWait:y=async function(e){let t=2**e;await new Promise(e=>setTimeout(e,t*1e3+Math.floor(Math.random()*2700+300)))},shouldRetry:b=d,on:x,webSocketImpl:S,generateID:C=function(){return`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.replace(/[xy]/g,e=>{let t=Math.random()*16|0;return(e==`x`?t:t&3|8).toString(16)})},jsonMessageReplacer:w,jsonMessageReviver:T}=e,E;if(S){if(!p(S))throw Error(`Invalid WebSocket implementation provided`);E=S}else typeof WebSocket<`u`?E=WebSocket:typeof global<`u`?E=global.WebSocket||global.MozWebSocket:typeof window<`u`&&(E=window.WebSocket||window.MozWebSocket);if(!E)throw Error("WebSocket implementation missing; on Node you can `import WebSocket from 'ws';` and pass `webSocketImpl: WebSocket` to `createClient`");let D=E,O=(()=>{let e=(()=>{let e={};return{on(t,n){return e[t]=n,()=>{delete e[t]}},emit(t){`id`in t&&e[t.id]?.(t)}}})(),t={connecting:x?.connecting?[x.connecting]:[],opened:x?.opened?[x.opened]:[],connected:x?.connected?[x.connected]:[],ping:x?.ping?[x.ping]:[],pong:x?.pong?[x.pong]:[],message:x?.message?[e.emit,x.message]:[e.emit],closed:x?.closed?[x.closed]:[],error:x?.error?[x.error]:[]};return{onMessage:e.on,on(e,n){let r=t[e];return r.push(n),()=>{let e=r.indexOf(n);e>-1&&r.splice(e,1)}},emit(e,...n){for(let r of[...t[e]])r(...n)}}})();function k(e){let t=[O.on(`error`,n=>{t.forEach(e=>e()),e(n)}),O.on(`closed`,n=>{t.forEach(e=>e()),e(n)})];return()=>t.forEach(e=>e())}let A,j=0,M,N=!1,P=0,F=!1;async function I(){clearTimeout(M);let[e,o]=await(A??=new Promise((e,o)=>(async()=>{if(N){if(await y(P),!j)return A=void 0,o({code:1e3,reason:`All Subscriptions Gone`});P++}O.emit(`connecting`,N);let l=new D(typeof t==`function`?await t():t,`graphql-transport-ws`),d,f;function p(){isFinite(h)&&h>0&&(clearTimeout(f),f=setTimeout(()=>{l.readyState===D.OPEN&&(l.send(c({type:a.Ping})),O.emit(`ping`,!1,void 0))},h))}k(e=>{A=void 0,clearTimeout(d),clearTimeout(f),o(e),e instanceof u&&(l.close(4499,`Terminated`),l.onerror=null,l.onclose=null)}),l.onerror=e=>O.emit(`error`,e),l.onclose=e=>O.emit(`closed`,e),l.onopen=async()=>{try{O.emit(`opened`,l);let e=typeof n==`function`?await n():n;if(l.readyState!==D.OPEN)return;l.send(c(e?{type:a.ConnectionInit,payload:e}:{type:a.ConnectionInit},w)),isFinite(_)&&_>0&&(d=setTimeout(()=>{l.close(i.ConnectionAcknowledgementTimeout,`Connection acknowledgement timeout`)},_)),p()}catch(e){O.emit(`error`,e),l.close(i.InternalClientError,r(e instanceof Error?e.message:String(e),`Internal client error`))}};let m=!1;l.onmessage=({data:t})=>{try{let n=s(t,T);if(O.emit(`message`,n),n.type===`ping`||n.type===`pong`){O.emit(n.type,!0,n.payload),n.type===`pong`?p():g||(l.send(c(n.payload?{type:a.Pong,payload:n.payload}:{type:a.Pong},w)),O.emit(`pong`,!1,n.payload));return}if(m)return;if(n.type!==a.ConnectionAck)throw Error(`First message cannot be of type ${n.type}`);clearTimeout(d),m=!0,O.emit(`connected`,l,n.payload,N),N=!1,P=0;let r=new Promise((e,t)=>k(t));r.catch(()=>{}),e([l,r])}catch(e){l.onmessage=null,O.emit(`error`,e),l.close(i.BadResponse,r(e instanceof Error?e.message:String(e),`Bad response`))}}})()));e.readyState===D.CLOSING&&await o;let l=()=>{},d=new Promise(e=>l=e);return[e,l,new Promise((t,n)=>{let r=k(n);e.readyState!==D.OPEN&&o.catch(n),d.then(()=>{if(r(),!j){let t=()=>e.close(1e3,`Normal Closure`);isFinite(m)&&m>0?(clearTimeout(M),M=setTimeout(()=>{!j&&e.readyState===D.OPEN&&t()},m)):t()}t()})})]}function L(e){if(d(e)&&(f(e.code)||[i.InternalServerError,i.InternalClientError,i.BadRequest,i.BadResponse,i.Unauthorized,i.SubprotocolNotAcceptable,i.SubscriberAlreadyExists,i.TooManyInitialisationRequests].includes(e.code)))throw e;if(F)return!1;if(d(e)&&e.code===1e3)return j>0;if(!v||P>=v||!b(e))throw e;return N=!0}o||(async()=>{for(j++;;)try{let[,,e]=await I();await e}catch(e){try{if(!L(e))return}catch(e){return l?.(e)}}})();function R(e,t){let n=C(e),r=!1,i=!1,o=()=>{j--,r=!0};return(async()=>{for(j++;;)try{let[s,l,u]=await I();if(r)return u.catch(()=>{}),l();let d=O.onMessage(n,e=>{switch(e.type){case a.Next:t.next(e.payload);return;case a.Error:i=!0,r=!0,t.error(e.payload),o();return;case a.Complete:r=!0,o();return}});s.send(c({id:n,type:a.Subscribe,payload:e},w)),o=()=>{!r&&s.readyState===D.OPEN&&s.send(c({id:n,type:a.Complete},w)),j--,r=!0,l()},await u.finally(d);return}catch(e){if(!L(e))return}})().then(()=>{i||t.complete()}).catch(e=>{t.error(e)}),()=>{r||o()}}return{on:O.on,subscribe:R,iterate(e){let t=[],n={done:!1,error:null,resolve:()=>{}},r=R(e,{next(e){t.push(e),n.resolve()},error(e){n.done=!0,n.error=e,n.resolve()},complete(){n.done=!0,n.resolve()}}),i=async function*(){for(;;){for(t.length||await new Promise(e=>n.resolve=e);t.length;)yield t.shift();if(n.error)throw n.error;if(n.done)return}}();return i.throw=async e=>(n.done||(n.done=!0,n.error=e,n.resolve()),{done:!0,value:void 0}),i.return=async()=>(r(),{done:!0,value:void 0}),i},async dispose(){if(F=!0,A){let[e]=await A;e.close(1e3,`Normal Closure`)}},terminate(){A&&O.emit(`closed`,new u)}}}var u=class extends Error{name=`TerminatedCloseEvent`;message=`4499: Terminated`;code=4499;reason=`Terminated`;wasClean=!1};function d(e){return t(e)&&`code`in e&&`reason`in e}function f(e){return![1e3,1001,1006,1005,1012,1013,1014].includes(e)&&e>=1e3&&e<=1999}function p(e){return typeof e==`function`&&`constructor`in e&&`CLOSED`in e&&`CLOSING`in e&&`CONNECTING`in e&&`OPEN`in e}var m={UNAUTHENTICATED:()=>`We could not recognise your queue ticket. Please join the queue again.`,NOT_ADMITTED:e=>typeof e.position==`number`?`It is not your turn yet: ${h(e.position)}. This page lets you in by itself.`:`It is not your turn yet. This page lets you in by itself.`,TOKEN_EXPIRED:()=>`Your turn in the sale has ended. Join the queue again to continue.`,NOT_FOUND:()=>`We could not find that reservation. It may belong to another account.`,SEAT_UNAVAILABLE:()=>`Sorry, someone else just took that seat. Please pick another one.`,HOLD_LIMIT:()=>`You are already holding as many seats as allowed. Pay for one, or wait for a hold to run out.`,HOLD_EXPIRED:()=>`Your hold on this seat ran out and the seat was released. Please pick a seat again.`,INVALID_AMOUNT:()=>`That top-up amount is not allowed. Enter a whole number of won above zero and within the single top-up limit.`,INSUFFICIENT_BALANCE:()=>`Your balance does not cover this seat. Top up and try again.`,ALREADY_PAID:()=>`This seat is already paid for. Nothing was charged again.`,BAD_USER_INPUT:()=>`Something in that request was not valid. Check what you entered and try again.`,RATE_LIMITED:e=>typeof e.retryAfterSeconds==`number`?`Too many requests. Please wait ${e.retryAfterSeconds} s and try again.`:`Too many requests. Please wait a moment and try again.`,IDEMPOTENCY_KEY_REUSED:()=>`That request clashed with an earlier one. Please try again.`,INTERNAL:()=>`Something went wrong on our side. Please try again in a moment.`,NETWORK:()=>`We cannot reach Seatline right now. Check your connection and try again.`,BAD_RESPONSE:()=>`Seatline sent an answer we did not understand. Please try again.`,SOCKET_REFUSED:e=>`Live updates stopped (code ${String(e.closeCode)}). ${String(e.what)} Reloading the page may help.`};function h(e){return e===0?`you are next in line`:e===1?`1 person is ahead of you`:`${e} people are ahead of you`}var g=class extends Error{code;extensions;constructor(e,t,n={}){super(t),this.name=`ApiError`,this.code=e,this.extensions=n}is(e){return this.code===e}};function _(e){if(e instanceof g){let t=m[e.code];return t?t(e.extensions):`Unexpected error (${e.code}). Please try again.`}return m.BAD_RESPONSE({})}function v(e){let t=e[0]??{},n=t.extensions??{},r=typeof n.code==`string`?n.code:`INTERNAL`;return new g(r,t.message??r,n)}async function y(e,t,n){let r={"Content-Type":`application/json`};n&&(r.Authorization=`Bearer ${n}`);try{return await fetch(`/graphql`,{method:`POST`,headers:r,body:JSON.stringify({query:e,variables:t})})}catch{throw new g(`NETWORK`,`fetch failed`)}}async function b(e,t,n){let r=await y(e,t,n),i;try{i=await r.text()}catch{throw new g(`NETWORK`,`response lost`)}let a;try{a=JSON.parse(i)}catch{throw new g(r.ok?`BAD_RESPONSE`:`NETWORK`,`HTTP ${r.status}`)}if(a.errors?.length)throw v(a.errors);if(!a.data)throw new g(`BAD_RESPONSE`,`no data`);return a.data}var x=[300,1e3,3e3],S=e=>new Promise(t=>window.setTimeout(t,e));function C(e){return e instanceof g&&(e.is(`NETWORK`)||e.is(`INTERNAL`))}function w(e){return C(e)||e instanceof g&&(e.is(`BAD_RESPONSE`)||e.is(`RATE_LIMITED`))}async function T(e,t,n){let r=e.toString(),i=typeof t==`object`&&!!t&&`idempotencyKey`in t;for(let e=0;;e+=1)try{return await b(r,t,n)}catch(t){let n=x[e];if(!i||n===void 0||!C(t))throw t;await S(n)}}function E(){let e=crypto.getRandomValues(new Uint8Array(16));return Array.from(e,e=>e.toString(16).padStart(2,`0`)).join(``)}var D=class{pending=null;async run(e,t){this.pending?.args!==e&&(this.pending={args:e,key:E(),firstSentAt:Date.now()});let n=this.pending;try{let e=await t(n.key,n.firstSentAt);return this.pending===n&&(this.pending=null),e}catch(e){throw this.pending===n&&!w(e)&&(this.pending=null),e}}},O=1e4,k=5e3,A={1009:`This page sent Seatline a message that was too big.`,4400:`This page sent Seatline a message it could not read.`,4401:`This page subscribed before Seatline accepted the connection.`,4406:`This page and Seatline have no protocol in common.`,4409:`This page subscribed twice with the same id.`,4429:`This page asked Seatline twice to open the connection.`};function j(e){if(Array.isArray(e))return v(e);if(typeof e==`object`&&e&&`code`in e&&typeof e.code==`number`){let t=A[e.code];if(t)return new g(`SOCKET_REFUSED`,t,{closeCode:e.code,what:t});if(e.code===1011||e.code===4500)return new g(`INTERNAL`,`socket closed`)}return new g(`NETWORK`,`subscription lost`)}function M(e,t,n){let r=location.protocol===`https:`?`wss`:`ws`,i=!1,a=!1,o=null,s,c=()=>{window.clearTimeout(s),s=window.setTimeout(()=>u.terminate(),k)},u=l({url:`${r}://${location.host}/graphql/ws`,connectionParams:{token:t},keepAlive:O,retryAttempts:3,shouldRetry:()=>!0,on:{connected:e=>{o=e},ping:e=>{e||c()},pong:e=>{e&&window.clearTimeout(s)},closed:()=>{o=null,window.clearTimeout(s),!i&&!a&&n.interrupted()}}}),d=()=>u.terminate(),f=()=>{document.visibilityState===`visible`&&o?.readyState===WebSocket.OPEN&&(o.send(JSON.stringify({type:`ping`})),c())};window.addEventListener(`online`,d),document.addEventListener(`visibilitychange`,f);let p=u.subscribe({query:e.toString()},{next(e){i||(e.errors?.length?(a=!0,n.error(v(e.errors))):e.data&&n.next(e.data))},error(e){a=!0,i||n.error(j(e))},complete(){a=!0,i||n.complete()}});return{stop(){i=!0,window.clearTimeout(s),window.removeEventListener(`online`,d),document.removeEventListener(`visibilitychange`,f),p(),Promise.resolve(u.dispose()).catch(()=>void 0)}}}function N(e,t={},...n){let r=document.createElement(e);for(let[e,n]of Object.entries(t))n!=null&&n!==!1&&(e.startsWith(`on`)&&typeof n==`function`?r.addEventListener(e.slice(2),n):e===`class`?r.className=String(n):n===!0?r.setAttribute(e,``):r.setAttribute(e,String(n)));return P(r,n),r}function P(e,t){for(let n of t)n!=null&&n!==!1&&e.append(n instanceof Node?n:String(n))}function F(e,t){e.textContent=t,e.hidden=t===``}async function I(e,t){e.disabled=!0,e.setAttribute(`aria-busy`,`true`);try{return await t()}finally{e.disabled=!1,e.removeAttribute(`aria-busy`)}}var L=new Intl.NumberFormat(`en`,{style:`currency`,currency:`KRW`}),R=new Intl.DateTimeFormat(`en`,{weekday:`short`,day:`numeric`,month:`short`,year:`numeric`,hour:`2-digit`,minute:`2-digit`}),ee=new Intl.DateTimeFormat(`en`,{hour:`2-digit`,minute:`2-digit`}),z=e=>L.format(e),B=e=>R.format(new Date(e)),V=e=>ee.format(new Date(e));function te(e){let t=Math.max(0,Math.ceil(e/1e3)),n=Math.floor(t/60),r=t%60;return`${n}:${String(r).padStart(2,`0`)}`}function ne(e){if(e==null)return`Estimating…`;if(e<60)return`less than a minute`;let t=Math.round(e/60);return t===1?`about 1 minute`:`about ${t} minutes`}var H=class extends String{__apiType;value;__meta__;constructor(e,t){super(e),this.value=e,this.__meta__=t}toString(){return this.value}},re={"\n  fragment TicketFields on QueueTicket {\n    token\n    userId\n    status\n    position\n    estimatedWaitSeconds\n    admittedAt\n    expiresAt\n  }\n":new H(`
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}
    `,{fragmentName:`TicketFields`}),"\n  mutation IssueQueueToken($userId: ID!) {\n    issueQueueToken(userId: $userId) {\n      ...TicketFields\n    }\n  }\n":new H(`
    mutation IssueQueueToken($userId: ID!) {
  issueQueueToken(userId: $userId) {
    ...TicketFields
  }
}
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}`),"\n  subscription QueueUpdates {\n    queueUpdates {\n      ...TicketFields\n    }\n  }\n":new H(`
    subscription QueueUpdates {
  queueUpdates {
    ...TicketFields
  }
}
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}`),"\n  query QueueTicket {\n    queueTicket {\n      ...TicketFields\n    }\n  }\n":new H(`
    query QueueTicket {
  queueTicket {
    ...TicketFields
  }
}
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}`),"\n  query Concerts {\n    concerts {\n      id\n      title\n    }\n  }\n":new H(`
    query Concerts {
  concerts {
    id
    title
  }
}
    `),"\n  query AvailableDates($concertId: ID!) {\n    availableDates(concertId: $concertId) {\n      id\n      startsAt\n      availableSeatCount\n    }\n  }\n":new H(`
    query AvailableDates($concertId: ID!) {
  availableDates(concertId: $concertId) {
    id
    startsAt
    availableSeatCount
  }
}
    `),"\n  query AvailableSeats($concertDateId: ID!) {\n    availableSeats(concertDateId: $concertDateId) {\n      number\n      price\n    }\n  }\n":new H(`
    query AvailableSeats($concertDateId: ID!) {
  availableSeats(concertDateId: $concertDateId) {
    number
    price
  }
}
    `),"\n  mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {\n    holdSeat(concertDateId: $concertDateId, seatNumber: $seatNumber, idempotencyKey: $idempotencyKey) {\n      id\n      status\n      price\n      heldAt\n      expiresAt\n      seat {\n        number\n        concertDateId\n      }\n    }\n  }\n":new H(`
    mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {
  holdSeat(
    concertDateId: $concertDateId
    seatNumber: $seatNumber
    idempotencyKey: $idempotencyKey
  ) {
    id
    status
    price
    heldAt
    expiresAt
    seat {
      number
      concertDateId
    }
  }
}
    `),"\n  query Balance {\n    balance {\n      amount\n    }\n  }\n":new H(`
    query Balance {
  balance {
    amount
  }
}
    `),"\n  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {\n    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {\n      amount\n    }\n  }\n":new H(`
    mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {
  chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {
    amount
  }
}
    `),"\n  mutation Pay($reservationId: ID!, $idempotencyKey: String) {\n    pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {\n      id\n      amount\n      paidAt\n      reservation {\n        id\n        status\n        seat {\n          number\n          concertDateId\n        }\n      }\n    }\n  }\n":new H(`
    mutation Pay($reservationId: ID!, $idempotencyKey: String) {
  pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {
    id
    amount
    paidAt
    reservation {
      id
      status
      seat {
        number
        concertDateId
      }
    }
  }
}
    `)};function U(e){return re[e]??{}}U(`
  fragment TicketFields on QueueTicket {
    token
    userId
    status
    position
    estimatedWaitSeconds
    admittedAt
    expiresAt
  }
`);var ie=U(`
  mutation IssueQueueToken($userId: ID!) {
    issueQueueToken(userId: $userId) {
      ...TicketFields
    }
  }
`),ae=U(`
  subscription QueueUpdates {
    queueUpdates {
      ...TicketFields
    }
  }
`),oe=U(`
  query QueueTicket {
    queueTicket {
      ...TicketFields
    }
  }
`),se=U(`
  query Concerts {
    concerts {
      id
      title
    }
  }
`),ce=U(`
  query AvailableDates($concertId: ID!) {
    availableDates(concertId: $concertId) {
      id
      startsAt
      availableSeatCount
    }
  }
`),le=U(`
  query AvailableSeats($concertDateId: ID!) {
    availableSeats(concertDateId: $concertDateId) {
      number
      price
    }
  }
`),ue=U(`
  mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {
    holdSeat(concertDateId: $concertDateId, seatNumber: $seatNumber, idempotencyKey: $idempotencyKey) {
      id
      status
      price
      heldAt
      expiresAt
      seat {
        number
        concertDateId
      }
    }
  }
`),de=U(`
  query Balance {
    balance {
      amount
    }
  }
`),fe=U(`
  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {
    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {
      amount
    }
  }
`),pe=U(`
  mutation Pay($reservationId: ID!, $idempotencyKey: String) {
    pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {
      id
      amount
      paidAt
      reservation {
        id
        status
        seat {
          number
          concertDateId
        }
      }
    }
  }
`),W={session:null,lastUserId:``,ticket:null,balance:null,current:null},me=`seatline.session`;function he(){try{let e=sessionStorage.getItem(me),t=e?JSON.parse(e):null;if(t&&typeof t==`object`&&typeof t.userId==`string`&&typeof t.token==`string`)return t}catch{}return null}function ge(e){try{e?sessionStorage.setItem(me,JSON.stringify(e)):sessionStorage.removeItem(me)}catch{}}var _e=()=>document.getElementById(`app`);function G(e){W.current?.dispose?.(),W.current=e,_e().replaceChildren(e.el),document.title=`${e.title} · Seatline`;let t=e.el.querySelector(`h1`);t&&(t.tabIndex=-1,t.focus()),q()}function ve(){return W.current?.name??null}function K(e,t){let n=[N(`h1`,{},e)];return t&&n.push(N(`p`,{class:`notice`,role:`status`},t)),n}function q(){let e=document.getElementById(`account`);if(!e)return;let{session:t,ticket:n,balance:r}=W,i=n?.status===`PROGRESS`;if(!t||!i){e.replaceChildren();return}let a=[N(`span`,{class:`who`},t.userId),N(`span`,{id:`balance`},`Balance `,N(`strong`,{},r===null?`…`:z(r)))];n.expiresAt&&a.push(N(`span`,{class:`until`},`Your turn ends ${V(n.expiresAt)}`)),e.replaceChildren(...a)}async function ye(){let e=W.session?.token;return W.balance=(await T(de,{},e)).balance.amount,q(),W.balance}function be(e){W.balance=e,q()}function xe(e,t,n,r){let i=(e,t)=>[N(`dt`,{},e),N(`dd`,{},t)];return{name:`confirmation`,title:`Payment confirmed`,el:N(`section`,{class:`screen`,"data-screen":`confirmation`},...K(`Payment confirmed`),N(`p`,{class:`success`},`Seat ${n.reservation.seat.number} is yours. Enjoy the show!`),N(`dl`,{class:`receipt`},...i(`Concert`,e.title),...i(`Date`,B(t.startsAt)),...i(`Seat`,String(n.reservation.seat.number)),...i(`Paid`,z(n.amount)),...i(`Paid at`,B(n.paidAt)),...i(`Payment reference`,n.id),...r===null?[]:i(`Balance left`,z(r))),N(`p`,{},`Your turn in the sale is finished, so the next person in line can come in.`),N(`button`,{type:`button`,onclick:()=>Q()},`Done`))}}function Se(e,t,n){return{name:`confirmation`,title:`Already paid`,el:N(`section`,{class:`screen`,"data-screen":`confirmation`},...K(`Already paid`),N(`p`,{class:`success`},`Seat ${n} is already paid for. Nothing was charged again.`),N(`p`,{class:`subtitle`},`${e.title} · ${B(t.startsAt)}`),N(`button`,{type:`button`,onclick:()=>Q()},`Done`))}}var Ce=2147483647,we=new D,Te=new D;function Ee(e,t,n,r){let i=n.seat.number,a=W.ticket?.expiresAt,o=a!=null&&Date.parse(a)<Date.parse(n.expiresAt),s=o?a:n.expiresAt,c=Date.parse(s)-Date.parse(n.heldAt),l=r+c,u=Date.now()+c,d=W.session?.token,f=N(`span`,{id:`countdown`,class:`countdown`}),p=N(`p`,{class:`timer`,role:`timer`,"aria-live":`off`,"aria-labelledby":`countdown-label`},N(`span`,{id:`countdown-label`},`Time left to pay `),f),m=N(`p`,{class:`sr-only`,role:`status`,"aria-live":`polite`}),h=N(`p`,{class:`error`,role:`alert`,hidden:!0}),v=N(`strong`,{id:`wallet-balance`},W.balance===null?`…`:z(W.balance)),y=N(`input`,{id:`top-up-amount`,name:`amount`,type:`number`,inputmode:`numeric`,min:1,step:1,required:!0,"aria-describedby":`top-up-hint`}),b=N(`button`,{type:`submit`,class:`secondary`},`Top up`),x=N(`button`,{type:`button`,id:`pay`},`Pay ${z(n.price)}`);function S(e){be(e),v.textContent=z(e);let t=n.price-e;y.value=t>0?String(t):``}let C=N(`form`,{class:`top-up`,onsubmit:async e=>{e.preventDefault(),F(h,``);let t=Number(y.value);if(!Number.isInteger(t)||t<=0||t>Ce)F(h,_(new g(`INVALID_AMOUNT`,`client check`))),y.focus();else try{let e=await I(b,()=>we.run(`${d} ${t}`,e=>T(fe,{amount:t,idempotencyKey:e},d)));S(e.chargeBalance.amount),m.textContent=`Topped up. Your balance is ${z(e.chargeBalance.amount)}.`,x.focus()}catch(e){$(e,h),y.focus()}}},N(`label`,{for:`top-up-amount`},`Top-up amount (won)`),N(`p`,{id:`top-up-hint`,class:`hint`},`Whole won, added to your prepaid balance.`),N(`div`,{class:`inline`},y,b));x.addEventListener(`click`,async()=>{F(h,``);try{let r=await I(x,()=>Te.run(`${d} ${n.id}`,e=>T(pe,{reservationId:n.id,idempotencyKey:e},d)));k();let i=W.balance===null?null:W.balance-r.pay.amount;i!==null&&be(i),G(xe(e,t,r.pay,i))}catch(n){if(n instanceof g&&n.is(`HOLD_EXPIRED`)){k(),G(ke(e,t,_(n)));return}if(n instanceof g&&n.is(`ALREADY_PAID`)){k(),G(Se(e,t,i));return}$(n,h),n instanceof g&&n.is(`INSUFFICIENT_BALANCE`)&&y.focus()}});let w=N(`section`,{class:`screen`,"data-screen":`hold`},...K(`Seat ${i} is held for you`),N(`p`,{class:`subtitle`},`${e.title} · ${B(t.startsAt)}`),N(`div`,{class:`card`},p,N(`p`,{class:`hint`},o?`Pay before ${V(s)}, when your turn in the sale ends.`:`Pay before ${V(s)}, or the seat is released.`),N(`p`,{},`Price `,N(`strong`,{},z(n.price)))),N(`section`,{class:`wallet`,"aria-labelledby":`wallet-heading`},N(`h2`,{id:`wallet-heading`},`Your balance`),N(`p`,{},`Balance `,v),C),h,m,N(`div`,{class:`actions`},x)),E=!1;function D(){let n=Date.now();f.textContent=te(l-n),l-n<=6e4&&!E&&(E=!0,m.textContent=`Less than a minute left to pay.`),n>=u&&(k(),o?Q(Re):G(ke(e,t,`Your hold on seat ${i} ran out, so the seat is free again.`)))}let O=window.setInterval(D,250),k=()=>window.clearInterval(O);return D(),W.balance===null?ye().then(S).catch(e=>$(e,h)):S(W.balance),{name:`hold`,title:`Seat ${i} held`,el:w,dispose:k}}var De=15e3,Oe=new D;function ke(e,t,n){let r=N(`p`,{class:`error`,role:`alert`,hidden:!0}),i=new Map,a=new Map,o=N(`div`,{class:`seat-grid`});for(let e=1;e<=50;e+=1){let t=N(`input`,{type:`radio`,name:`seat`,value:e,id:`seat-${e}`,disabled:!0,"aria-label":`Seat ${e}, loading`}),n=N(`span`,{class:`seat-state`},`…`),a=N(`label`,{for:`seat-${e}`,class:`seat loading`,"data-seat":e,"aria-hidden":`true`},N(`span`,{class:`seat-number`},e),n);t.addEventListener(`change`,()=>{F(r,``),p()}),o.append(N(`div`,{class:`seat-cell`},t,a)),i.set(e,{input:t,label:a,state:n})}let s=N(`p`,{id:`seat-summary`,role:`status`,"aria-live":`polite`},`Loading seats…`),c=N(`fieldset`,{class:`seats`,"aria-busy":`true`,"aria-describedby":`seat-summary`},N(`legend`,{},`Seats 1–50`),N(`p`,{class:`key`,"aria-hidden":`true`},N(`span`,{class:`swatch free`}),`Free `,N(`span`,{class:`swatch taken`}),`Taken `,N(`span`,{class:`swatch chosen`}),`Your choice`),o),l=N(`button`,{type:`submit`,disabled:!0},`Choose a seat`),u=!1,d=N(`button`,{type:`button`,class:`secondary`,onclick:()=>void m()},`Refresh seats`),f=()=>{let e=o.querySelector(`input:checked`);return e?Number(e.value):null};function p(){let e=f(),t=e===null?void 0:a.get(e);l.disabled=u||e===null||t===void 0,l.textContent=e===null||t===void 0?`Choose a seat`:`Hold seat ${e} for ${z(t)}`}async function m(){c.setAttribute(`aria-busy`,`true`);try{let{availableSeats:e}=await T(le,{concertDateId:t.id},W.session?.token);a.clear();for(let t of e)a.set(t.number,t.price);for(let[e,t]of i){let n=a.get(e),r=n!==void 0;t.input.disabled=!r,r||(t.input.checked=!1),t.label.className=`seat ${r?`free`:`taken`}`,t.state.textContent=r?z(n):`taken`,t.input.setAttribute(`aria-label`,`Seat ${e}, ${t.state.textContent}`)}s.textContent=`${e.length} of 50 seats free.`,p()}catch(e){$(e,r)}finally{c.removeAttribute(`aria-busy`)}}let h=N(`form`,{onsubmit:async n=>{n.preventDefault();let i=f();if(i===null||u)return;F(r,``),u=!0;let a=W.session?.token;try{let{data:n,sentAt:r}=await I(l,()=>Oe.run(`${a} ${t.id} ${i}`,async(e,n)=>({data:await T(ue,{concertDateId:t.id,seatNumber:i,idempotencyKey:e},a),sentAt:n})));G(Ee(e,t,n.holdSeat,r))}catch(e){$(e,r),e instanceof g&&e.is(`SEAT_UNAVAILABLE`)&&await m()}finally{u=!1,p()}}},c,s,N(`div`,{class:`actions`},l,d)),_=N(`section`,{class:`screen`,"data-screen":`seats`},...K(`Pick a seat`,n),N(`p`,{class:`subtitle`},`${e.title} · ${B(t.startsAt)}`),h,r,N(`button`,{type:`button`,class:`secondary`,onclick:()=>G(je(e))},`Back to dates`));m();let v=window.setInterval(()=>void m(),De),y=()=>{document.visibilityState===`visible`&&m()};return document.addEventListener(`visibilitychange`,y),{name:`seats`,title:`Pick a seat`,el:_,dispose:()=>{window.clearInterval(v),document.removeEventListener(`visibilitychange`,y)}}}function Ae(e){let t=N(`ul`,{class:`choices`,"aria-busy":`true`}),n=N(`p`,{class:`error`,role:`alert`,hidden:!0}),r=N(`section`,{class:`screen`,"data-screen":`concerts`},...K(`Choose a concert`,e),t,n);return(async()=>{try{let{concerts:e}=await T(se,{});t.replaceChildren(...e.map(e=>N(`li`,{},N(`button`,{type:`button`,class:`choice`,onclick:()=>G(je(e))},e.title)))),e.length===0&&t.replaceChildren(N(`li`,{},`No concerts are on sale.`))}catch(e){$(e,n)}finally{t.removeAttribute(`aria-busy`)}})(),{name:`concerts`,title:`Concerts`,el:r}}function je(e,t){let n=N(`ul`,{class:`choices`,"aria-busy":`true`}),r=N(`p`,{class:`error`,role:`alert`,hidden:!0}),i=N(`section`,{class:`screen`,"data-screen":`dates`},...K(e.title,t),N(`p`,{},`Choose a date. Only dates with free seats are listed.`),n,r,N(`button`,{type:`button`,class:`secondary`,onclick:()=>G(Ae())},`Back to concerts`));return(async()=>{try{let{availableDates:t}=await T(ce,{concertId:e.id},W.session?.token);n.replaceChildren(...t.map(t=>N(`li`,{},N(`button`,{type:`button`,class:`choice`,onclick:()=>G(ke(e,t))},N(`span`,{},B(t.startsAt)),N(`span`,{class:`meta`},`${t.availableSeatCount} seats free`))))),t.length===0&&F(r,`This concert has no dates with free seats left.`)}catch(e){$(e,r)}finally{n.removeAttribute(`aria-busy`)}})(),{name:`dates`,title:e.title,el:i}}var J=null,Me=``;function Ne(e){let t=N(`p`,{id:`position`,class:`big`}),n=N(`p`,{id:`wait`}),r=N(`p`,{id:`live-notice`,class:`hint`,hidden:Me===``},Me),i={position:t,wait:n,live:r};return J=i,Pe(e),{name:`waiting`,title:`Waiting room`,el:N(`section`,{class:`screen`,"data-screen":`waiting`},...K(`You are in the waiting room`),N(`div`,{class:`card`,role:`status`,"aria-live":`polite`,"aria-atomic":`true`},t,n),N(`p`,{class:`spinner`,"aria-hidden":`true`}),N(`p`,{},`Keep this page open. It updates by itself and takes you to the seats when it is your turn. Leaving and rejoining with the same user id keeps your place.`),r),dispose:()=>{J===i&&(J=null)}}}function Pe(e){if(!J)return;let t=e.position??0,n=h(t);J.position.textContent=n.charAt(0).toUpperCase()+n.slice(1)+`.`,J.position.dataset.position=String(t),J.wait.textContent=`Estimated wait: ${ne(e.estimatedWaitSeconds)}`}function Fe(e){Me=e,J&&F(J.live,e)}var Ie=5e3,Le=15e3,Re=`Your time in the sale ran out. Join the queue again to continue.`,Y=null,X,Z;function ze(e,t){Ge(),W.session=e,W.lastUserId=e.userId,ge(e),Ve(e.token),t&&Ke(t)}function Be(e){return e instanceof g&&(e.is(`UNAUTHENTICATED`)||e.is(`TOKEN_EXPIRED`))}function Ve(e){Y=M(ae,e,{next:e=>{We(),Ke(e.queueUpdates)},interrupted:()=>Ue(e),error:t=>{Be(t)?Q(_(t)):He(e,`${t.is(`NETWORK`)?`Live updates cannot get through right now.`:_(t)} Meanwhile this page checks your place every few seconds.`)},complete:()=>He(e,``)})}function He(e,t){Y?.stop(),Y=null,Ue(e),Fe(t),window.clearTimeout(Z),Z=window.setTimeout(()=>{Z=void 0,W.session?.token===e&&Ve(e)},Le)}function Ue(e){if(X!==void 0)return;let t=async()=>{let t=X;try{let n=await T(oe,{},e);X===t&&W.session?.token===e&&Ke(n.queueTicket)}catch(t){Be(t)&&W.session?.token===e&&Q(_(t))}};X=window.setInterval(()=>void t(),Ie),t()}function We(){window.clearInterval(X),X=void 0,Fe(``)}function Ge(){Y?.stop(),Y=null,We(),window.clearTimeout(Z),Z=void 0}function Ke(e){let t=W.ticket?.status;W.ticket=e;let n=ve();switch(e.status){case`WAITING`:n===`waiting`?Pe(e):G(Ne(e));break;case`PROGRESS`:t!==`PROGRESS`||n===`waiting`||n===`connecting`?(W.balance=null,G(Ae(n===`waiting`?`It is your turn! Choose a concert.`:void 0)),ye().catch(()=>void 0)):q();break;case`DONE`:n===`confirmation`||n===`hold`?(qe(),q()):Q(`Your turn in the sale is finished.`);break;case`EXPIRED`:n===`confirmation`?(qe(),q()):Q(Re)}}function qe(){Ge(),W.session=null,ge(null)}function Q(e){qe(),W.ticket=null,W.balance=null,G(Je(e,W.lastUserId))}function $(e,t){let n=_(e);if(e instanceof g){if(Be(e)){Q(n);return}if(e.is(`NOT_ADMITTED`)&&W.ticket){let t=typeof e.extensions.position==`number`?e.extensions.position:null;W.ticket={...W.ticket,status:`WAITING`,position:t},G(Ne(W.ticket));return}}F(t,n)}function Je(e,t=``){let n=N(`input`,{id:`user-id`,name:`userId`,required:!0,autocomplete:`username`,maxlength:64,value:t,"aria-describedby":`user-id-hint`}),r=N(`button`,{type:`submit`},`Join the queue`),i=N(`p`,{class:`error`,role:`alert`,hidden:!0}),a=N(`form`,{onsubmit:async e=>{e.preventDefault();let t=n.value.trim();if(!t)F(i,`Enter your user id to join the queue.`),n.focus();else{F(i,``);try{let e=(await I(r,()=>T(ie,{userId:t}))).issueQueueToken;ze({userId:t,token:e.token},e)}catch(e){F(i,_(e)),n.focus()}}}},N(`label`,{for:`user-id`},`User id`),N(`p`,{id:`user-id-hint`,class:`hint`},`Joining again with the same id keeps your place.`),n,r),o=N(`section`,{class:`screen`,"data-screen":`join`},...K(`Join the queue`,e),N(`p`,{},`Tickets go on sale to a few people at a time. Join the line and this page lets you in when it is your turn.`),a,i);return queueMicrotask(()=>{e||n.focus()}),{name:`join`,title:`Join the queue`,el:o}}var Ye=he();Ye?(G({name:`connecting`,title:`Reconnecting`,el:N(`section`,{class:`screen`,"data-screen":`connecting`},...K(`Reconnecting…`),N(`p`,{role:`status`},`Finding your place in line as ${Ye.userId}.`))}),ze(Ye)):G(Je());