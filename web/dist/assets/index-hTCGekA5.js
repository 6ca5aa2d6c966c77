function e(e){return e===null?`null`:Array.isArray(e)?`array`:typeof e}function t(t){return e(t)===`object`}function n(e){return Array.isArray(e)&&e.length>0&&e.every(e=>`message`in e)}function r(e,t){return e.length<124?e:t}var i=(e=>(e[e.InternalServerError=4500]=`InternalServerError`,e[e.InternalClientError=4005]=`InternalClientError`,e[e.BadRequest=4400]=`BadRequest`,e[e.BadResponse=4004]=`BadResponse`,e[e.Unauthorized=4401]=`Unauthorized`,e[e.Forbidden=4403]=`Forbidden`,e[e.SubprotocolNotAcceptable=4406]=`SubprotocolNotAcceptable`,e[e.ConnectionInitialisationTimeout=4408]=`ConnectionInitialisationTimeout`,e[e.ConnectionAcknowledgementTimeout=4504]=`ConnectionAcknowledgementTimeout`,e[e.SubscriberAlreadyExists=4409]=`SubscriberAlreadyExists`,e[e.TooManyInitialisationRequests=4429]=`TooManyInitialisationRequests`,e))(i||{}),a=(e=>(e.ConnectionInit=`connection_init`,e.ConnectionAck=`connection_ack`,e.Ping=`ping`,e.Pong=`pong`,e.Subscribe=`subscribe`,e.Next=`next`,e.Error=`error`,e.Complete=`complete`,e))(a||{});function o(r){if(!t(r))throw Error(`Message is expected to be an object, but got ${e(r)}`);if(!r.type)throw Error(`Message is missing the 'type' property`);if(typeof r.type!=`string`)throw Error(`Message is expects the 'type' property to be a string, but got ${e(r.type)}`);switch(r.type){case`connection_init`:case`connection_ack`:case`ping`:case`pong`:if(r.payload!=null&&!t(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an object or nullish or missing, but got "${r.payload}"`);break;case`subscribe`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);if(!t(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an object, but got ${e(r.payload)}`);if(typeof r.payload.query!=`string`)throw Error(`"${r.type}" message payload expects the 'query' property to be a string, but got ${e(r.payload.query)}`);if(r.payload.variables!=null&&!t(r.payload.variables))throw Error(`"${r.type}" message payload expects the 'variables' property to be a an object or nullish or missing, but got ${e(r.payload.variables)}`);if(r.payload.operationName!=null&&e(r.payload.operationName)!==`string`)throw Error(`"${r.type}" message payload expects the 'operationName' property to be a string or nullish or missing, but got ${e(r.payload.operationName)}`);if(r.payload.extensions!=null&&!t(r.payload.extensions))throw Error(`"${r.type}" message payload expects the 'extensions' property to be a an object or nullish or missing, but got ${e(r.payload.extensions)}`);break;case`next`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);if(!t(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an object, but got ${e(r.payload)}`);break;case`error`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);if(!n(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an array of GraphQL errors, but got ${JSON.stringify(r.payload)}`);break;case`complete`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);break;default:throw Error(`Invalid message 'type' property "${r.type}"`)}return r}function s(e,t){return o(typeof e==`string`?JSON.parse(e,t):e)}function c(e,t){return o(e),JSON.stringify(e,t)}function l(e){let{url:t,connectionParams:n,lazy:o=!0,onNonLazyError:l=console.error,lazyCloseTimeout:m=0,keepAlive:h=0,disablePong:g,connectionAckWaitTimeout:_=0,retryAttempts:v=5,retryWait:y=async function(e){let t=2**e;await new Promise(e=>setTimeout(e,t*1e3+Math.floor(Math.random()*2700+300)))},shouldRetry:b=d,on:x,webSocketImpl:S,generateID:C=function(){return`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.replace(/[xy]/g,e=>{let t=Math.random()*16|0;return(e==`x`?t:t&3|8).toString(16)})},jsonMessageReplacer:w,jsonMessageReviver:T}=e,E;if(S){if(!p(S))throw Error(`Invalid WebSocket implementation provided`);E=S}else typeof WebSocket<`u`?E=WebSocket:typeof global<`u`?E=global.WebSocket||global.MozWebSocket:typeof window<`u`&&(E=window.WebSocket||window.MozWebSocket);if(!E)throw Error("WebSocket implementation missing; on Node you can `import WebSocket from 'ws';` and pass `webSocketImpl: WebSocket` to `createClient`");let D=E,O=(()=>{let e=(()=>{let e={};return{on(t,n){return e[t]=n,()=>{delete e[t]}},emit(t){`id`in t&&e[t.id]?.(t)}}})(),t={connecting:x?.connecting?[x.connecting]:[],opened:x?.opened?[x.opened]:[],connected:x?.connected?[x.connected]:[],ping:x?.ping?[x.ping]:[],pong:x?.pong?[x.pong]:[],message:x?.message?[e.emit,x.message]:[e.emit],closed:x?.closed?[x.closed]:[],error:x?.error?[x.error]:[]};return{onMessage:e.on,on(e,n){let r=t[e];return r.push(n),()=>{let e=r.indexOf(n);e>-1&&r.splice(e,1)}},emit(e,...n){for(let r of[...t[e]])r(...n)}}})();function k(e){let t=[O.on(`error`,n=>{t.forEach(e=>e()),e(n)}),O.on(`closed`,n=>{t.forEach(e=>e()),e(n)})];return()=>t.forEach(e=>e())}let A,j=0,M,N=!1,P=0,F=!1;async function I(){clearTimeout(M);let[e,o]=await(A??=new Promise((e,o)=>(async()=>{if(N){if(await y(P),!j)return A=void 0,o({code:1e3,reason:`All Subscriptions Gone`});P++}O.emit(`connecting`,N);let l=new D(typeof t==`function`?await t():t,`graphql-transport-ws`),d,f;function p(){isFinite(h)&&h>0&&(clearTimeout(f),f=setTimeout(()=>{l.readyState===D.OPEN&&(l.send(c({type:a.Ping})),O.emit(`ping`,!1,void 0))},h))}k(e=>{A=void 0,clearTimeout(d),clearTimeout(f),o(e),e instanceof u&&(l.close(4499,`Terminated`),l.onerror=null,l.onclose=null)}),l.onerror=e=>O.emit(`error`,e),l.onclose=e=>O.emit(`closed`,e),l.onopen=async()=>{try{O.emit(`opened`,l);let e=typeof n==`function`?await n():n;if(l.readyState!==D.OPEN)return;l.send(c(e?{type:a.ConnectionInit,payload:e}:{type:a.ConnectionInit},w)),isFinite(_)&&_>0&&(d=setTimeout(()=>{l.close(i.ConnectionAcknowledgementTimeout,`Connection acknowledgement timeout`)},_)),p()}catch(e){O.emit(`error`,e),l.close(i.InternalClientError,r(e instanceof Error?e.message:String(e),`Internal client error`))}};let m=!1;l.onmessage=({data:t})=>{try{let n=s(t,T);if(O.emit(`message`,n),n.type===`ping`||n.type===`pong`){O.emit(n.type,!0,n.payload),n.type===`pong`?p():g||(l.send(c(n.payload?{type:a.Pong,payload:n.payload}:{type:a.Pong},w)),O.emit(`pong`,!1,n.payload));return}if(m)return;if(n.type!==a.ConnectionAck)throw Error(`First message cannot be of type ${n.type}`);clearTimeout(d),m=!0,O.emit(`connected`,l,n.payload,N),N=!1,P=0;let r=new Promise((e,t)=>k(t));r.catch(()=>{}),e([l,r])}catch(e){l.onmessage=null,O.emit(`error`,e),l.close(i.BadResponse,r(e instanceof Error?e.message:String(e),`Bad response`))}}})()));e.readyState===D.CLOSING&&await o;let l=()=>{},d=new Promise(e=>l=e);return[e,l,new Promise((t,n)=>{let r=k(n);e.readyState!==D.OPEN&&o.catch(n),d.then(()=>{if(r(),!j){let t=()=>e.close(1e3,`Normal Closure`);isFinite(m)&&m>0?(clearTimeout(M),M=setTimeout(()=>{!j&&e.readyState===D.OPEN&&t()},m)):t()}t()})})]}function L(e){if(d(e)&&(f(e.code)||[i.InternalServerError,i.InternalClientError,i.BadRequest,i.BadResponse,i.Unauthorized,i.SubprotocolNotAcceptable,i.SubscriberAlreadyExists,i.TooManyInitialisationRequests].includes(e.code)))throw e;if(F)return!1;if(d(e)&&e.code===1e3)return j>0;if(!v||P>=v||!b(e))throw e;return N=!0}o||(async()=>{for(j++;;)try{let[,,e]=await I();await e}catch(e){try{if(!L(e))return}catch(e){return l?.(e)}}})();function R(e,t){let n=C(e),r=!1,i=!1,o=()=>{j--,r=!0};return(async()=>{for(j++;;)try{let[s,l,u]=await I();if(r)return u.catch(()=>{}),l();let d=O.onMessage(n,e=>{switch(e.type){case a.Next:t.next(e.payload);return;case a.Error:i=!0,r=!0,t.error(e.payload),o();return;case a.Complete:r=!0,o();return}});s.send(c({id:n,type:a.Subscribe,payload:e},w)),o=()=>{!r&&s.readyState===D.OPEN&&s.send(c({id:n,type:a.Complete},w)),j--,r=!0,l()},await u.finally(d);return}catch(e){if(!L(e))return}})().then(()=>{i||t.complete()}).catch(e=>{t.error(e)}),()=>{r||o()}}return{on:O.on,subscribe:R,iterate(e){let t=[],n={done:!1,error:null,resolve:()=>{}},r=R(e,{next(e){t.push(e),n.resolve()},error(e){n.done=!0,n.error=e,n.resolve()},complete(){n.done=!0,n.resolve()}}),i=async function*(){for(;;){for(t.length||await new Promise(e=>n.resolve=e);t.length;)yield t.shift();if(n.error)throw n.error;if(n.done)return}}();return i.throw=async e=>(n.done||(n.done=!0,n.error=e,n.resolve()),{done:!0,value:void 0}),i.return=async()=>(r(),{done:!0,value:void 0}),i},async dispose(){if(F=!0,A){let[e]=await A;e.close(1e3,`Normal Closure`)}},terminate(){A&&O.emit(`closed`,new u)}}}var u=class extends Error{name=`TerminatedCloseEvent`;message=`4499: Terminated`;code=4499;reason=`Terminated`;wasClean=!1};function d(e){return t(e)&&`code`in e&&`reason`in e}function f(e){return![1e3,1001,1006,1005,1012,1013,1014].includes(e)&&e>=1e3&&e<=1999}function p(e){return typeof e==`function`&&`constructor`in e&&`CLOSED`in e&&`CLOSING`in e&&`CONNECTING`in e&&`OPEN`in e}var m={UNAUTHENTICATED:()=>`We could not recognise your queue ticket. Please join the queue again.`,NOT_ADMITTED:e=>typeof e.position==`number`?`It is not your turn yet: ${h(e.position)}. This page lets you in by itself.`:`It is not your turn yet. This page lets you in by itself.`,TOKEN_EXPIRED:()=>`Your turn in the sale has ended. Join the queue again to continue.`,NOT_FOUND:()=>`We could not find that reservation. It may belong to another account.`,SEAT_UNAVAILABLE:()=>`Sorry, someone else just took that seat. Please pick another one.`,HOLD_LIMIT:()=>`You are already holding as many seats as allowed. Pay for one, or wait for a hold to run out.`,HOLD_EXPIRED:()=>`Your hold on this seat ran out and the seat was released. Please pick a seat again.`,INVALID_AMOUNT:()=>`That top-up amount is not allowed. Enter a whole number of won above zero and within the single top-up limit.`,INSUFFICIENT_BALANCE:()=>`Your balance does not cover this seat. Top up and try again.`,ALREADY_PAID:()=>`This seat is already paid for. Nothing was charged again.`,BAD_USER_INPUT:()=>`Something in that request was not valid. Check what you entered and try again.`,RATE_LIMITED:e=>typeof e.retryAfterSeconds==`number`?`Too many requests. Please wait ${e.retryAfterSeconds} s and try again.`:`Too many requests. Please wait a moment and try again.`,IDEMPOTENCY_KEY_REUSED:()=>`That request clashed with an earlier one. Please try again.`,INTERNAL:()=>`Something went wrong on our side. Please try again in a moment.`,NETWORK:()=>`We cannot reach Seatline right now. Check your connection and try again.`,BAD_RESPONSE:()=>`Seatline sent an answer we did not understand. Please try again.`};function h(e){return e===0?`you are next in line`:e===1?`1 person is ahead of you`:`${e} people are ahead of you`}var g=class extends Error{code;extensions;constructor(e,t,n={}){super(t),this.name=`ApiError`,this.code=e,this.extensions=n}is(e){return this.code===e}};function _(e){if(e instanceof g){let t=m[e.code];return t?t(e.extensions):`Unexpected error (${e.code}). Please try again.`}return m.BAD_RESPONSE({})}function v(e){let t=e[0]??{},n=t.extensions??{},r=typeof n.code==`string`?n.code:`INTERNAL`;return new g(r,t.message??r,n)}async function y(e,t,n){let r={"Content-Type":`application/json`};n&&(r.Authorization=`Bearer ${n}`);try{return await fetch(`/graphql`,{method:`POST`,headers:r,body:JSON.stringify({query:e,variables:t})})}catch{throw new g(`NETWORK`,`fetch failed`)}}async function b(e,t,n){let r=e.toString(),i=typeof t==`object`&&!!t&&`idempotencyKey`in t,a;try{a=await y(r,t,n)}catch(e){if(!i)throw e;a=await y(r,t,n)}let o;try{o=await a.json()}catch{throw new g(a.ok?`BAD_RESPONSE`:`NETWORK`,`HTTP ${a.status}`)}if(o.errors?.length)throw v(o.errors);if(!o.data)throw new g(`BAD_RESPONSE`,`no data`);return o.data}function x(){let e=crypto.getRandomValues(new Uint8Array(16));return Array.from(e,e=>e.toString(16).padStart(2,`0`)).join(``)}function S(e,t,n){let r=l({url:`${location.protocol===`https:`?`wss`:`ws`}://${location.host}/graphql/ws`,connectionParams:{token:t},retryAttempts:10,shouldRetry:()=>!0}),i=!1,a=r.subscribe({query:e.toString()},{next(e){i||(e.errors?.length?n.error(v(e.errors)):e.data&&n.next(e.data))},error(e){i||n.error(Array.isArray(e)?v(e):new g(`NETWORK`,`subscription lost`))},complete(){i||n.complete()}});return{stop(){i=!0,a(),r.dispose()}}}function C(e,t={},...n){let r=document.createElement(e);for(let[e,n]of Object.entries(t))n!=null&&n!==!1&&(e.startsWith(`on`)&&typeof n==`function`?r.addEventListener(e.slice(2),n):e===`class`?r.className=String(n):n===!0?r.setAttribute(e,``):r.setAttribute(e,String(n)));return w(r,n),r}function w(e,t){for(let n of t)n!=null&&n!==!1&&e.append(n instanceof Node?n:String(n))}function T(e,t){e.textContent=t,e.hidden=t===``}async function E(e,t){e.disabled=!0,e.setAttribute(`aria-busy`,`true`);try{return await t()}finally{e.disabled=!1,e.removeAttribute(`aria-busy`)}}var D=new Intl.NumberFormat(`en`,{style:`currency`,currency:`KRW`}),O=new Intl.DateTimeFormat(`en`,{weekday:`short`,day:`numeric`,month:`short`,year:`numeric`,hour:`2-digit`,minute:`2-digit`}),k=new Intl.DateTimeFormat(`en`,{hour:`2-digit`,minute:`2-digit`}),A=e=>D.format(e),j=e=>O.format(new Date(e)),M=e=>k.format(new Date(e));function N(e){let t=Math.max(0,Math.ceil(e/1e3)),n=Math.floor(t/60),r=t%60;return`${n}:${String(r).padStart(2,`0`)}`}function P(e){if(e==null)return`Estimating…`;if(e<60)return`less than a minute`;let t=Math.round(e/60);return t===1?`about 1 minute`:`about ${t} minutes`}var F=class extends String{__apiType;value;__meta__;constructor(e,t){super(e),this.value=e,this.__meta__=t}toString(){return this.value}},I={"\n  fragment TicketFields on QueueTicket {\n    token\n    userId\n    status\n    position\n    estimatedWaitSeconds\n    admittedAt\n    expiresAt\n  }\n":new F(`
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}
    `,{fragmentName:`TicketFields`}),"\n  mutation IssueQueueToken($userId: ID!) {\n    issueQueueToken(userId: $userId) {\n      ...TicketFields\n    }\n  }\n":new F(`
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
}`),"\n  subscription QueueUpdates {\n    queueUpdates {\n      ...TicketFields\n    }\n  }\n":new F(`
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
}`),"\n  query Concerts {\n    concerts {\n      id\n      title\n    }\n  }\n":new F(`
    query Concerts {
  concerts {
    id
    title
  }
}
    `),"\n  query AvailableDates($concertId: ID!) {\n    availableDates(concertId: $concertId) {\n      id\n      startsAt\n      availableSeatCount\n    }\n  }\n":new F(`
    query AvailableDates($concertId: ID!) {
  availableDates(concertId: $concertId) {
    id
    startsAt
    availableSeatCount
  }
}
    `),"\n  query AvailableSeats($concertDateId: ID!) {\n    availableSeats(concertDateId: $concertDateId) {\n      number\n      price\n    }\n  }\n":new F(`
    query AvailableSeats($concertDateId: ID!) {
  availableSeats(concertDateId: $concertDateId) {
    number
    price
  }
}
    `),"\n  mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {\n    holdSeat(concertDateId: $concertDateId, seatNumber: $seatNumber, idempotencyKey: $idempotencyKey) {\n      id\n      status\n      price\n      heldAt\n      expiresAt\n      seat {\n        number\n        concertDateId\n      }\n    }\n  }\n":new F(`
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
    `),"\n  query Balance {\n    balance {\n      amount\n    }\n  }\n":new F(`
    query Balance {
  balance {
    amount
  }
}
    `),"\n  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {\n    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {\n      amount\n    }\n  }\n":new F(`
    mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {
  chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {
    amount
  }
}
    `),"\n  mutation Pay($reservationId: ID!, $idempotencyKey: String) {\n    pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {\n      id\n      amount\n      paidAt\n      reservation {\n        id\n        status\n        seat {\n          number\n          concertDateId\n        }\n      }\n    }\n  }\n":new F(`
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
    `)};function L(e){return I[e]??{}}L(`
  fragment TicketFields on QueueTicket {
    token
    userId
    status
    position
    estimatedWaitSeconds
    admittedAt
    expiresAt
  }
`);var R=L(`
  mutation IssueQueueToken($userId: ID!) {
    issueQueueToken(userId: $userId) {
      ...TicketFields
    }
  }
`),ee=L(`
  subscription QueueUpdates {
    queueUpdates {
      ...TicketFields
    }
  }
`),te=L(`
  query Concerts {
    concerts {
      id
      title
    }
  }
`),ne=L(`
  query AvailableDates($concertId: ID!) {
    availableDates(concertId: $concertId) {
      id
      startsAt
      availableSeatCount
    }
  }
`),re=L(`
  query AvailableSeats($concertDateId: ID!) {
    availableSeats(concertDateId: $concertDateId) {
      number
      price
    }
  }
`),ie=L(`
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
`),ae=L(`
  query Balance {
    balance {
      amount
    }
  }
`),oe=L(`
  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {
    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {
      amount
    }
  }
`),se=L(`
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
`),z={session:null,lastUserId:``,ticket:null,balance:null,current:null},B=`seatline.session`;function ce(){try{let e=sessionStorage.getItem(B),t=e?JSON.parse(e):null;if(t&&typeof t==`object`&&typeof t.userId==`string`&&typeof t.token==`string`)return t}catch{}return null}function le(e){try{e?sessionStorage.setItem(B,JSON.stringify(e)):sessionStorage.removeItem(B)}catch{}}var ue=()=>document.getElementById(`app`);function V(e){z.current?.dispose?.(),z.current=e,ue().replaceChildren(e.el),document.title=`${e.title} · Seatline`;let t=e.el.querySelector(`h1`);t&&(t.tabIndex=-1,t.focus()),U()}function de(){return z.current?.name??null}function H(e,t){let n=[C(`h1`,{},e)];return t&&n.push(C(`p`,{class:`notice`,role:`status`},t)),n}function U(){let e=document.getElementById(`account`);if(!e)return;let{session:t,ticket:n,balance:r}=z,i=n?.status===`PROGRESS`;if(!t||!i){e.replaceChildren();return}let a=[C(`span`,{class:`who`},t.userId),C(`span`,{id:`balance`},`Balance `,C(`strong`,{},r===null?`…`:A(r)))];n.expiresAt&&a.push(C(`span`,{class:`until`},`Your turn ends ${M(n.expiresAt)}`)),e.replaceChildren(...a)}async function W(){let e=z.session?.token;return z.balance=(await b(ae,{},e)).balance.amount,U(),z.balance}function G(e){z.balance=e,U()}function fe(e,t,n,r){let i=(e,t)=>[C(`dt`,{},e),C(`dd`,{},t)];return{name:`confirmation`,title:`Payment confirmed`,el:C(`section`,{class:`screen`,"data-screen":`confirmation`},...H(`Payment confirmed`),C(`p`,{class:`success`},`Seat ${n.reservation.seat.number} is yours. Enjoy the show!`),C(`dl`,{class:`receipt`},...i(`Concert`,e.title),...i(`Date`,j(t.startsAt)),...i(`Seat`,String(n.reservation.seat.number)),...i(`Paid`,A(n.amount)),...i(`Paid at`,j(n.paidAt)),...i(`Payment reference`,n.id),...r===null?[]:i(`Balance left`,A(r))),C(`p`,{},`Your turn in the sale is finished, so the next person in line can come in.`),C(`button`,{type:`button`,onclick:()=>Z()},`Done`))}}var pe=2147483647;function me(e,t,n,r){let i=n.seat.number,a=r+(Date.parse(n.expiresAt)-Date.parse(n.heldAt)),o=z.session?.token,s=C(`span`,{id:`countdown`,class:`countdown`}),c=C(`p`,{class:`timer`,role:`timer`,"aria-live":`off`,"aria-labelledby":`countdown-label`},C(`span`,{id:`countdown-label`},`Time left to pay `),s),l=C(`p`,{class:`sr-only`,role:`status`,"aria-live":`polite`}),u=C(`p`,{class:`error`,role:`alert`,hidden:!0}),d=C(`strong`,{id:`wallet-balance`},z.balance===null?`…`:A(z.balance)),f=C(`input`,{id:`top-up-amount`,name:`amount`,type:`number`,inputmode:`numeric`,min:1,step:1,required:!0,"aria-describedby":`top-up-hint`}),p=C(`button`,{type:`submit`,class:`secondary`},`Top up`),m=C(`button`,{type:`button`,id:`pay`},`Pay ${A(n.price)}`);function h(e){G(e),d.textContent=A(e);let t=n.price-e;f.value=t>0?String(t):``}let v=C(`form`,{class:`top-up`,onsubmit:async e=>{e.preventDefault(),T(u,``);let t=Number(f.value);if(!Number.isInteger(t)||t<=0||t>pe)T(u,_(new g(`INVALID_AMOUNT`,`client check`))),f.focus();else try{let e=await E(p,()=>b(oe,{amount:t,idempotencyKey:x()},o));h(e.chargeBalance.amount),l.textContent=`Topped up. Your balance is ${A(e.chargeBalance.amount)}.`,m.focus()}catch(e){Q(e,u),f.focus()}}},C(`label`,{for:`top-up-amount`},`Top-up amount (won)`),C(`p`,{id:`top-up-hint`,class:`hint`},`Whole won, added to your prepaid balance.`),C(`div`,{class:`inline`},f,p));m.addEventListener(`click`,async()=>{T(u,``);try{let r=await E(m,()=>b(se,{reservationId:n.id,idempotencyKey:x()},o));O();let i=z.balance===null?null:z.balance-r.pay.amount;i!==null&&G(i),V(fe(e,t,r.pay,i))}catch(n){if(n instanceof g&&n.is(`HOLD_EXPIRED`)){O(),V(K(e,t,_(n)));return}Q(n,u),n instanceof g&&n.is(`INSUFFICIENT_BALANCE`)&&f.focus()}});let y=C(`section`,{class:`screen`,"data-screen":`hold`},...H(`Seat ${i} is held for you`),C(`p`,{class:`subtitle`},`${e.title} · ${j(t.startsAt)}`),C(`div`,{class:`card`},c,C(`p`,{class:`hint`},`Pay before ${M(n.expiresAt)}, or the seat is released.`),C(`p`,{},`Price `,C(`strong`,{},A(n.price)))),C(`section`,{class:`wallet`,"aria-labelledby":`wallet-heading`},C(`h2`,{id:`wallet-heading`},`Your balance`),C(`p`,{},`Balance `,d),v),u,l,C(`div`,{class:`actions`},m)),S=!1;function w(){let n=a-Date.now();s.textContent=N(n),n<=6e4&&!S&&(S=!0,l.textContent=`Less than a minute left to pay.`),n<=0&&(O(),V(K(e,t,`Your hold on seat ${i} ran out, so the seat is free again.`)))}let D=window.setInterval(w,250),O=()=>window.clearInterval(D);return w(),z.balance===null?W().then(h).catch(e=>Q(e,u)):h(z.balance),{name:`hold`,title:`Seat ${i} held`,el:y,dispose:O}}var he=15e3;function K(e,t,n){let r=C(`p`,{class:`error`,role:`alert`,hidden:!0}),i=new Map,a=new Map,o=C(`div`,{class:`seat-grid`});for(let e=1;e<=50;e+=1){let t=C(`input`,{type:`radio`,name:`seat`,value:e,id:`seat-${e}`,disabled:!0,"aria-label":`Seat ${e}, loading`}),n=C(`span`,{class:`seat-state`},`…`),a=C(`label`,{for:`seat-${e}`,class:`seat loading`,"data-seat":e,"aria-hidden":`true`},C(`span`,{class:`seat-number`},e),n);t.addEventListener(`change`,()=>{T(r,``),f()}),o.append(C(`div`,{class:`seat-cell`},t,a)),i.set(e,{input:t,label:a,state:n})}let s=C(`p`,{id:`seat-summary`,role:`status`,"aria-live":`polite`},`Loading seats…`),c=C(`fieldset`,{class:`seats`,"aria-busy":`true`,"aria-describedby":`seat-summary`},C(`legend`,{},`Seats 1–50`),C(`p`,{class:`key`,"aria-hidden":`true`},C(`span`,{class:`swatch free`}),`Free `,C(`span`,{class:`swatch taken`}),`Taken `,C(`span`,{class:`swatch chosen`}),`Your choice`),o),l=C(`button`,{type:`submit`,disabled:!0},`Choose a seat`),u=C(`button`,{type:`button`,class:`secondary`,onclick:()=>void p()},`Refresh seats`),d=()=>{let e=o.querySelector(`input:checked`);return e?Number(e.value):null};function f(){let e=d(),t=e===null?void 0:a.get(e);l.disabled=e===null||t===void 0,l.textContent=e===null||t===void 0?`Choose a seat`:`Hold seat ${e} for ${A(t)}`}async function p(){c.setAttribute(`aria-busy`,`true`);try{let{availableSeats:e}=await b(re,{concertDateId:t.id},z.session?.token);a.clear();for(let t of e)a.set(t.number,t.price);for(let[e,t]of i){let n=a.get(e),r=n!==void 0;t.input.disabled=!r,r||(t.input.checked=!1),t.label.className=`seat ${r?`free`:`taken`}`,t.state.textContent=r?A(n):`taken`,t.input.setAttribute(`aria-label`,`Seat ${e}, ${t.state.textContent}`)}s.textContent=`${e.length} of 50 seats free.`,f()}catch(e){Q(e,r)}finally{c.removeAttribute(`aria-busy`)}}let m=C(`form`,{onsubmit:async n=>{n.preventDefault();let i=d();if(i!==null){T(r,``);try{V(me(e,t,(await E(l,()=>b(ie,{concertDateId:t.id,seatNumber:i,idempotencyKey:x()},z.session?.token))).holdSeat,Date.now()))}catch(e){Q(e,r),e instanceof g&&e.is(`SEAT_UNAVAILABLE`)&&await p(),f()}}}},c,s,C(`div`,{class:`actions`},l,u)),h=C(`section`,{class:`screen`,"data-screen":`seats`},...H(`Pick a seat`,n),C(`p`,{class:`subtitle`},`${e.title} · ${j(t.startsAt)}`),m,r,C(`button`,{type:`button`,class:`secondary`,onclick:()=>V(_e(e))},`Back to dates`));p();let _=window.setInterval(()=>void p(),he),v=()=>{document.visibilityState===`visible`&&p()};return document.addEventListener(`visibilitychange`,v),{name:`seats`,title:`Pick a seat`,el:h,dispose:()=>{window.clearInterval(_),document.removeEventListener(`visibilitychange`,v)}}}function ge(e){let t=C(`ul`,{class:`choices`,"aria-busy":`true`}),n=C(`p`,{class:`error`,role:`alert`,hidden:!0}),r=C(`section`,{class:`screen`,"data-screen":`concerts`},...H(`Choose a concert`,e),t,n);return(async()=>{try{let{concerts:e}=await b(te,{});t.replaceChildren(...e.map(e=>C(`li`,{},C(`button`,{type:`button`,class:`choice`,onclick:()=>V(_e(e))},e.title)))),e.length===0&&t.replaceChildren(C(`li`,{},`No concerts are on sale.`))}catch(e){Q(e,n)}finally{t.removeAttribute(`aria-busy`)}})(),{name:`concerts`,title:`Concerts`,el:r}}function _e(e,t){let n=C(`ul`,{class:`choices`,"aria-busy":`true`}),r=C(`p`,{class:`error`,role:`alert`,hidden:!0}),i=C(`section`,{class:`screen`,"data-screen":`dates`},...H(e.title,t),C(`p`,{},`Choose a date. Only dates with free seats are listed.`),n,r,C(`button`,{type:`button`,class:`secondary`,onclick:()=>V(ge())},`Back to concerts`));return(async()=>{try{let{availableDates:t}=await b(ne,{concertId:e.id},z.session?.token);n.replaceChildren(...t.map(t=>C(`li`,{},C(`button`,{type:`button`,class:`choice`,onclick:()=>V(K(e,t))},C(`span`,{},j(t.startsAt)),C(`span`,{class:`meta`},`${t.availableSeatCount} seats free`))))),t.length===0&&T(r,`This concert has no dates with free seats left.`)}catch(e){Q(e,r)}finally{n.removeAttribute(`aria-busy`)}})(),{name:`dates`,title:e.title,el:i}}var q=null;function ve(e){let t=C(`p`,{id:`position`,class:`big`}),n=C(`p`,{id:`wait`});return q={position:t,wait:n},J(e),{name:`waiting`,title:`Waiting room`,el:C(`section`,{class:`screen`,"data-screen":`waiting`},...H(`You are in the waiting room`),C(`div`,{class:`card`,role:`status`,"aria-live":`polite`,"aria-atomic":`true`},t,n),C(`p`,{class:`spinner`,"aria-hidden":`true`}),C(`p`,{},`Keep this page open. It updates by itself and takes you to the seats when it is your turn. Leaving and rejoining with the same user id keeps your place.`)),dispose:()=>{q=null}}}function J(e){if(!q)return;let t=e.position??0,n=h(t);q.position.textContent=n.charAt(0).toUpperCase()+n.slice(1)+`.`,q.position.dataset.position=String(t),q.wait.textContent=`Estimated wait: ${P(e.estimatedWaitSeconds)}`}var Y=null;function ye(e,t){z.session=e,z.lastUserId=e.userId,le(e),Y?.stop(),Y=S(ee,e.token,{next:e=>be(e.queueUpdates),error:e=>{Z(_(e))},complete:()=>{Y=null}}),t&&be(t)}function be(e){let t=z.ticket?.status;z.ticket=e;let n=de();switch(e.status){case`WAITING`:n===`waiting`?J(e):V(ve(e));break;case`PROGRESS`:t!==`PROGRESS`||n===`waiting`||n===`connecting`?(z.balance=null,V(ge(n===`waiting`?`It is your turn! Choose a concert.`:void 0)),W().catch(()=>void 0)):U();break;case`DONE`:n===`confirmation`||n===`hold`?(X(),U()):Z(`Your turn in the sale is finished.`);break;case`EXPIRED`:n===`confirmation`?(X(),U()):Z(`Your time in the sale ran out. Join the queue again to continue.`)}}function X(){Y?.stop(),Y=null,z.session=null,le(null)}function Z(e){X(),z.ticket=null,z.balance=null,V(xe(e,z.lastUserId))}function Q(e,t){let n=_(e);if(e instanceof g){if(e.is(`UNAUTHENTICATED`)||e.is(`TOKEN_EXPIRED`)){Z(n);return}if(e.is(`NOT_ADMITTED`)&&z.ticket){V(ve({...z.ticket,status:`WAITING`}));return}}T(t,n)}function xe(e,t=``){let n=C(`input`,{id:`user-id`,name:`userId`,required:!0,autocomplete:`username`,maxlength:64,value:t,"aria-describedby":`user-id-hint`}),r=C(`button`,{type:`submit`},`Join the queue`),i=C(`p`,{class:`error`,role:`alert`,hidden:!0}),a=C(`form`,{onsubmit:async e=>{e.preventDefault();let t=n.value.trim();if(!t)T(i,`Enter your user id to join the queue.`),n.focus();else{T(i,``);try{let e=(await E(r,()=>b(R,{userId:t}))).issueQueueToken;ye({userId:t,token:e.token},e)}catch(e){T(i,_(e)),n.focus()}}}},C(`label`,{for:`user-id`},`User id`),C(`p`,{id:`user-id-hint`,class:`hint`},`Joining again with the same id keeps your place.`),n,r),o=C(`section`,{class:`screen`,"data-screen":`join`},...H(`Join the queue`,e),C(`p`,{},`Tickets go on sale to a few people at a time. Join the line and this page lets you in when it is your turn.`),a,i);return queueMicrotask(()=>{e||n.focus()}),{name:`join`,title:`Join the queue`,el:o}}var $=ce();$?(V({name:`connecting`,title:`Reconnecting`,el:C(`section`,{class:`screen`,"data-screen":`connecting`},...H(`Reconnecting…`),C(`p`,{role:`status`},`Finding your place in line as ${$.userId}.`))}),ye($)):V(xe());